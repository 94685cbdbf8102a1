"""Silver transforms (pure, DataFrame -> DataFrame, no I/O): typed, flattened, validated FHIR
resources; latest version per id.

Each parse_* function takes bronze rows (schema BRONZE) and returns the silver table's
columns plus `reason`/`detail` (null when accepted; the checks are rules.SILVER_CHECKS) and the
quarantine columns (resource_type, resource_id, raw). Validation happens per record first; the
latest version is then chosen among accepted records only, so an invalid record never replaces
a valid one.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from .rules import SILVER_CHECKS, first_reason
from .schemas import CONDITION_JSON, ENCOUNTER_JSON, PATIENT_JSON, SILVER_KEYS, SILVER_SCHEMAS

EPOCH0 = "TIMESTAMP '0001-01-01 00:00:00'"
# MERGE condition: the incoming row (s) is a later version than the stored one (t).
# Greatest meta.lastUpdated wins (absent = oldest), ties go to the one ingested last.
NEWER_VERSION_SQL = (
    f"struct(coalesce(s.last_updated, {EPOCH0}), s.ingest_seq, s.source_file, s.line_number) > "
    f"struct(coalesce(t.last_updated, {EPOCH0}), t.ingest_seq, t.source_file, t.line_number)"
)
QUARANTINE_COLUMNS = ("reason", "detail", "resource_type", "resource_id", "raw")


def resolve_reference(ref: Column) -> Column:
    """Bare id from `Type/<id>` (also absolute URLs), `urn:uuid:<id>`,
    `Type?identifier=<system>|<value>` (-> value) or a bare id; null or blank -> null."""
    return (
        F.when(ref.isNull() | (F.trim(ref) == ""), F.lit(None).cast("string"))
        .when(ref.contains("?identifier="), F.regexp_extract(ref, r"\?identifier=(?:[^|]*\|)?(.*)$", 1))
        .when(ref.startswith("urn:uuid:"), F.substring_index(ref, "urn:uuid:", -1))
        .when(ref.contains("/"), F.substring_index(ref, "/", -1))
        .otherwise(ref)
    )


def normalise_disposition(code: Column) -> Column:
    """NUBC two-digit strings: 1 -> "01"; the HL7 code `exp` -> "20"; others unchanged."""
    return F.when(code.rlike(r"^[0-9]$"), F.concat(F.lit("0"), code)).when(code == "exp", F.lit("20")).otherwise(code)


def first_code(codeable: Column) -> Column:
    """coding[0].code of a CodeableConcept (null when absent)."""
    return codeable.getField("coding")[0].getField("code")


def verification_status(codeable: Column) -> Column:
    """`entered-in-error` when any coding says so (the record is then excluded from the
    metrics), otherwise coding[0].code."""
    eie = F.exists(F.coalesce(codeable.getField("coding"), F.array()),
                   lambda c: F.coalesce(c.getField("code") == "entered-in-error", F.lit(False)))
    return F.when(eie, F.lit("entered-in-error")).otherwise(first_code(codeable))


def parse_timestamp(raw: Column) -> Column:
    """ISO-8601 date or dateTime (offset honoured) -> UTC timestamp; unparseable -> null.
    try_to_timestamp stays null-safe under ANSI mode too."""
    return F.try_to_timestamp(F.trim(raw))


def _bad_dates(fields: dict[str, tuple[str, str]]) -> tuple[Column, str, Column]:
    """One invalid_date check over several date fields, each given as (raw text, its parsed
    column); detail names the first bad one. Taking the parsed column, not parsing again, keeps
    the parse to once per field: Spark resolves each value's offset by compiling regexes
    (SparkDateTimeUtils.getZoneId), and a re-parse in reason and again in detail tripled that."""
    bad = [(name, F.col(raw).isNotNull() & F.col(parsed).isNull(), F.col(raw))
           for name, (raw, parsed) in fields.items()]
    is_bad = F.lit(False)
    detail = F.lit(None).cast("string")
    for name, cond, raw in reversed(bad):
        is_bad = is_bad | cond
        detail = F.when(cond, F.concat(F.lit(f"{name}="), raw)).otherwise(detail)
    return is_bad, "invalid_date", detail


def _missing(fields: dict[str, str]) -> tuple[Column, str, Column]:
    """One missing_required_field check over several fields; detail names the first missing."""
    is_bad = F.lit(False)
    detail = F.lit(None).cast("string")
    for name, column in reversed(list(fields.items())):
        col = F.col(column)
        is_bad = is_bad | col.isNull()
        detail = F.when(col.isNull(), F.lit(name)).otherwise(detail)
    return is_bad, "missing_required_field", detail


def _end_before_start(fields: dict[str, tuple[str, str]]) -> tuple[Column, str, Column]:
    """The end (second field) parsed before the start (first); detail shows both as given."""
    (start, (start_raw, start_parsed)), (end, (end_raw, end_parsed)) = fields.items()
    return (F.col(end_parsed) < F.col(start_parsed), "end_before_start",
            F.concat(F.lit(f"{start}="), F.col(start_raw), F.lit(f" {end}="), F.col(end_raw)))


# rules.SILVER_CHECKS names each check; these turn one into (is_bad, reason, detail) columns
CHECK_BUILDERS = {"missing_required_field": _missing, "invalid_date": _bad_dates, "end_before_start": _end_before_start}


def _checks(resource_type: str) -> list[tuple[Column, str, Column]]:
    return [CHECK_BUILDERS[check](fields) for check, fields in SILVER_CHECKS[resource_type]]


def _parse(bronze: DataFrame, schema) -> DataFrame:
    # PERMISSIVE from_json returns partial results: a field of the wrong JSON shape reads as
    # absent (so a required one is then missing_required_field), like a JSON path would.
    return bronze.withColumn("j", F.from_json("raw", schema))


def _finish(df: DataFrame, resource_type: str) -> DataFrame:
    reason, detail = first_reason(*_checks(resource_type))
    cols = [f.name for f in SILVER_SCHEMAS[resource_type].fields if f.name not in ("silver_run_id", "updated_at")]
    return df.select(
        *cols,
        reason.alias("reason"),
        detail.alias("detail"),
        F.lit(resource_type).alias("resource_type"),
        F.col(SILVER_KEYS[resource_type]).alias("resource_id"),
        "raw",
    )


def parse_patients(bronze: DataFrame) -> DataFrame:
    df = _parse(bronze, PATIENT_JSON)
    deceased = parse_timestamp(F.col("j.deceasedDateTime"))
    df = df.select(
        F.col("resource_id").alias("patient_id"),
        F.col("j.gender").alias("gender"),
        F.to_date(parse_timestamp(F.col("j.birthDate"))).alias("birth_date"),
        deceased.alias("deceased_at"),
        F.to_date(deceased).alias("deceased_date"),
        parse_timestamp(F.col("j.meta.lastUpdated")).alias("last_updated"),
        "ingest_seq", "source_file", "line_number", "raw", "j",
    )
    return _finish(df, "Patient")


def parse_encounters(bronze: DataFrame) -> DataFrame:
    df = _parse(bronze, ENCOUNTER_JSON)
    start = parse_timestamp(F.col("j.period.start"))
    end = parse_timestamp(F.col("j.period.end"))
    df = df.select(
        F.col("resource_id").alias("encounter_id"),
        resolve_reference(F.col("j.subject.reference")).alias("patient_id"),
        F.col("j.status").alias("status"),
        F.col("j.class.code").alias("class_code"),
        start.alias("period_start"),
        end.alias("period_end"),
        F.to_date(start).alias("admit_date"),
        F.to_date(end).alias("discharge_date"),
        resolve_reference(F.col("j.serviceProvider.reference")).alias("facility_id"),
        normalise_disposition(first_code(F.col("j.hospitalization.dischargeDisposition"))).alias("discharge_disposition"),
        parse_timestamp(F.col("j.meta.lastUpdated")).alias("last_updated"),
        "ingest_seq", "source_file", "line_number", "raw", "j",
    )
    return _finish(df, "Encounter")


def parse_conditions(bronze: DataFrame) -> DataFrame:
    df = _parse(bronze, CONDITION_JSON)
    onset = parse_timestamp(F.col("j.onsetDateTime"))
    codes = F.col("j.code.coding")  # an empty list counts as missing
    df = df.select(
        F.col("resource_id").alias("condition_id"),
        resolve_reference(F.col("j.subject.reference")).alias("patient_id"),
        resolve_reference(F.col("j.encounter.reference")).alias("encounter_id"),
        F.when(F.size(codes) > 0, codes).alias("codes"),
        onset.alias("onset_at"),
        F.to_date(onset).alias("onset_date"),
        parse_timestamp(F.col("j.abatementDateTime")).alias("abatement_at"),
        parse_timestamp(F.col("j.recordedDate")).alias("recorded_at"),
        first_code(F.col("j.clinicalStatus")).alias("clinical_status"),
        F.col("j.status").alias("status"),
        verification_status(F.col("j.verificationStatus")).alias("verification_status"),
        parse_timestamp(F.col("j.meta.lastUpdated")).alias("last_updated"),
        "ingest_seq", "source_file", "line_number", "raw", "j",
    )
    return _finish(df, "Condition")


def with_unknown_patient(parsed: DataFrame, patient_ids: DataFrame) -> DataFrame:
    """Accepted rows whose patient_id is not among `patient_ids` get reason unknown_patient."""
    known = patient_ids.select(F.col("patient_id").alias("_known")).distinct()
    joined = parsed.join(known, parsed["patient_id"] == known["_known"], "left")
    unknown = F.col("reason").isNull() & F.col("_known").isNull()
    return joined.select(
        *[c for c in parsed.columns if c not in ("reason", "detail")],
        F.when(unknown, F.lit("unknown_patient")).otherwise(F.col("reason")).alias("reason"),
        F.when(unknown, F.concat(F.lit("subject="), F.col("patient_id"))).otherwise(F.col("detail")).alias("detail"),
    )


def with_raw_of_quarantined_only(parsed: DataFrame) -> DataFrame:
    """`raw` kept on quarantined rows only: silver tables do not store it, so the batch a job
    caches holds the parsed columns instead of every line's JSON (~600 bytes an encounter)."""
    return parsed.withColumn("raw", F.when(F.col("reason").isNotNull(), F.col("raw")))


def to_silver_rows(parsed: DataFrame, resource_type: str, silver_run_id: str) -> DataFrame:
    """The latest version of each accepted id: greatest last_updated, ties to the one ingested
    last; shaped exactly like the silver table (the MERGE source)."""
    key = SILVER_KEYS[resource_type]
    order = Window.partitionBy(key).orderBy(
        F.col("last_updated").desc_nulls_last(), F.col("ingest_seq").desc(),
        F.col("source_file").desc(), F.col("line_number").desc(),
    )
    schema = SILVER_SCHEMAS[resource_type]
    return (
        parsed.where(F.col("reason").isNull())
        .withColumn("_rn", F.row_number().over(order))
        .where("_rn = 1")
        .withColumn("silver_run_id", F.lit(silver_run_id))
        .withColumn("updated_at", F.current_timestamp())
        .select(*[F.col(f.name).cast(f.dataType) for f in schema.fields])
    )


def count_outcomes(parsed: DataFrame) -> DataFrame:
    """One-row aggregate: input, accepted, quarantined (and by reason via a map)."""
    return parsed.agg(
        F.count(F.lit(1)).alias("input"),
        F.count(F.when(F.col("reason").isNull(), 1)).alias("accepted"),
        F.count(F.when(F.col("reason").isNotNull(), 1)).alias("quarantined"),
    )
