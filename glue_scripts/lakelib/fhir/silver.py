"""Silver transforms (pure, DataFrame -> DataFrame, no I/O): typed, flattened, validated FHIR
resources; latest version per id.

Each parse_* function takes bronze rows (schema BRONZE) and returns the silver table's
columns plus `reason`/`detail` (null when accepted; the checks are rules.SILVER_CHECKS, dates by
their FHIR R4 grammar: dates.py) and the quarantine columns (resource_type, resource_id, raw).
Validation happens per record first; the latest version is then chosen among accepted records
only, so an invalid record never replaces a valid one.

An Encounter or Condition that passes every check but whose patient has not arrived yet waits
(with_patient_reference: `waiting`): it is held in fhir_waiting (to_waiting_rows) and checked
again by the next runs together with the new bronze rows (with_held), so the order in which
batches arrive does not change what is accepted.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ..runtime.args import JobArgumentError
from . import dates as D
from .rules import SILVER_CHECKS, first_reason
from .schemas import (
    BRONZE,
    CONDITION_JSON,
    ENCOUNTER_JSON,
    PATIENT_JSON,
    SILVER_KEYS,
    SILVER_SCHEMAS,
    WAITING,
    WAITING_KEY,
)

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


def _bad_dates(fields: dict[str, tuple[str, str]]) -> tuple[Column, str, Column]:
    """One invalid_date check over several date fields, each given as (raw text, FHIR type);
    detail names the first bad one. The grammar is matched here; the typed columns
    (dates.utc_timestamp) are null for an invalid value, so they never need checking again."""
    bad = [(name, F.col(raw).isNotNull() & ~F.col(valid_column(raw)), F.col(raw))
           for name, (raw, grammar) in fields.items()]
    is_bad = F.lit(False)
    detail = F.lit(None).cast("string")
    for name, cond, raw in reversed(bad):
        is_bad = is_bad | cond
        detail = F.when(cond, F.concat(F.lit(f"{name}="), raw)).otherwise(detail)
    return is_bad, "invalid_date", detail


def _partial_dates(fields: dict[str, str]) -> tuple[Column, str, Column]:
    """One partial_date check: a (valid) value that names only a year or a month."""
    is_bad = F.lit(False)
    detail = F.lit(None).cast("string")
    for name, raw in reversed(list(fields.items())):
        cond = F.col(raw).isNotNull() & ~D.has_day(F.col(raw))
        is_bad = is_bad | cond
        detail = F.when(cond, F.concat(F.lit(f"{name}="), F.col(raw))).otherwise(detail)
    return is_bad, "partial_date", detail


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
    """The end (second field) before the start (first): compared as instants when both have a
    time, otherwise as days (a date-only end includes its whole day, as FHIR's Period says);
    detail shows both as given."""
    (start, (start_raw, start_parsed)), (end, (end_raw, end_parsed)) = fields.items()
    both_timed = D.has_time(F.col(start_raw)) & D.has_time(F.col(end_raw))
    before = F.when(both_timed, F.col(end_parsed) < F.col(start_parsed)).otherwise(
        F.to_date(end_parsed) < F.to_date(start_parsed))
    return (before, "end_before_start",
            F.concat(F.lit(f"{start}="), F.col(start_raw), F.lit(f" {end}="), F.col(end_raw)))


# rules.SILVER_CHECKS names each check; these turn one into (is_bad, reason, detail) columns
CHECK_BUILDERS = {"missing_required_field": _missing, "invalid_date": _bad_dates, "partial_date": _partial_dates,
                  "end_before_start": _end_before_start}


def _checks(resource_type: str) -> list[tuple[Column, str, Column]]:
    return [CHECK_BUILDERS[check](fields) for check, fields in SILVER_CHECKS[resource_type]]


def valid_column(raw: str) -> str:
    """The column holding dates.is_valid of the date field at JSON path `raw` (see _parse)."""
    return "_valid_" + raw.replace(".", "_")


def _dates_checked(resource_type: str) -> dict[str, str]:
    """The date fields of the invalid_date check: JSON path -> FHIR type."""
    return {raw: grammar for check, fields in SILVER_CHECKS[resource_type] if check == "invalid_date"
            for raw, grammar in fields.values()}


def _valid(raw: str) -> Column:
    return F.col(valid_column(raw))


def _parse(bronze: DataFrame, schema, resource_type: str) -> DataFrame:
    # PERMISSIVE from_json returns partial results: a field of the wrong JSON shape reads as
    # absent (so a required one is then missing_required_field), like a JSON path would.
    parsed = bronze.withColumn("j", F.from_json("raw", schema))
    # Each checked date's grammar match, once per row in a projection of its own: the typed column
    # and the invalid_date check both use it (matching it in each of them was most of silver's parse)
    return parsed.select("*", *[D.is_valid(F.col(raw), grammar).alias(valid_column(raw))
                                for raw, grammar in _dates_checked(resource_type).items()])


def _validity(df: DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith("_valid_")]


# bronze rows retried from silver.fhir_waiting (with_held) carry when they first waited; parse_*
# pass these columns through when present
CARRIED = ("waiting_since_seq", "waiting_since")


def _carried(df: DataFrame) -> list[str]:
    return [c for c in CARRIED if c in df.columns]


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
        *_carried(df),
    )


def parse_patients(bronze: DataFrame) -> DataFrame:
    df = _parse(bronze, PATIENT_JSON, "Patient")
    df = df.select(
        F.col("resource_id").alias("patient_id"),
        F.col("j.gender").alias("gender"),
        D.first_day(F.col("j.birthDate"), "date", _valid("j.birthDate")).alias("birth_date"),  # 1950 -> 1950-01-01
        # null for a year or a month: it names no day
        D.utc_timestamp(F.col("j.deceasedDateTime"), "dateTime", _valid("j.deceasedDateTime")).alias("deceased_at"),
        D.utc_timestamp(F.col("j.meta.lastUpdated"), "instant", _valid("j.meta.lastUpdated")).alias("last_updated"),
        "ingest_seq", "source_file", "line_number", "raw", "j", *_carried(df), *_validity(df),
    ).withColumn("deceased_date", F.to_date("deceased_at"))  # from the parsed column: one parse
    return _finish(df, "Patient")


def parse_encounters(bronze: DataFrame) -> DataFrame:
    df = _parse(bronze, ENCOUNTER_JSON, "Encounter")
    df = df.select(
        F.col("resource_id").alias("encounter_id"),
        resolve_reference(F.col("j.subject.reference")).alias("patient_id"),
        F.col("j.status").alias("status"),
        F.col("j.class.code").alias("class_code"),
        D.utc_timestamp(F.col("j.period.start"), "dateTime", _valid("j.period.start")).alias("period_start"),
        D.utc_timestamp(F.col("j.period.end"), "dateTime", _valid("j.period.end")).alias("period_end"),
        resolve_reference(F.col("j.serviceProvider.reference")).alias("facility_id"),
        normalise_disposition(first_code(F.col("j.hospitalization.dischargeDisposition"))).alias("discharge_disposition"),
        D.utc_timestamp(F.col("j.meta.lastUpdated"), "instant", _valid("j.meta.lastUpdated")).alias("last_updated"),
        "ingest_seq", "source_file", "line_number", "raw", "j", *_carried(df), *_validity(df),
    )  # the dates from the parsed columns: one parse each
    df = df.withColumn("admit_date", F.to_date("period_start")).withColumn("discharge_date", F.to_date("period_end"))
    return _finish(df, "Encounter")


def parse_conditions(bronze: DataFrame) -> DataFrame:
    df = _parse(bronze, CONDITION_JSON, "Condition")
    onset = D.utc_timestamp(F.col("j.onsetDateTime"), "dateTime", _valid("j.onsetDateTime"))  # a year/month: null
    codes = F.col("j.code.coding")  # an empty list counts as missing
    df = df.select(
        F.col("resource_id").alias("condition_id"),
        resolve_reference(F.col("j.subject.reference")).alias("patient_id"),
        resolve_reference(F.col("j.encounter.reference")).alias("encounter_id"),
        F.when(F.size(codes) > 0, codes).alias("codes"),
        onset.alias("onset_at"),
        D.utc_timestamp(F.col("j.abatementDateTime"), "dateTime").alias("abatement_at"),
        D.utc_timestamp(F.col("j.recordedDate"), "dateTime").alias("recorded_at"),
        first_code(F.col("j.clinicalStatus")).alias("clinical_status"),
        F.col("j.status").alias("status"),
        verification_status(F.col("j.verificationStatus")).alias("verification_status"),
        D.utc_timestamp(F.col("j.meta.lastUpdated"), "instant", _valid("j.meta.lastUpdated")).alias("last_updated"),
        "ingest_seq", "source_file", "line_number", "raw", "j", *_carried(df), *_validity(df),
    ).withColumn("onset_date", F.to_date("onset_at"))  # from the parsed column: one parse
    return _finish(df, "Condition")


# --- records waiting for their patient ---------------------------------------------------------

def parse_max_waiting_runs(text: str | None) -> int | None:
    """--max_waiting_runs: a whole number >= 0, or unset (None: wait until the patient arrives)."""
    if text is None or not text.strip():
        return None
    if not text.strip().isdigit():
        raise JobArgumentError([f"--max_waiting_runs: got {text!r}; allowed: a whole number >= 0 (the silver runs "
                                "a record waits for its patient before it is quarantined as unknown_patient; "
                                "0 = at once), or unset to wait until the patient arrives"])
    return int(text.strip())


def with_held(appended: DataFrame | None, held: DataFrame | None) -> DataFrame:
    """The records of one resource type a silver run checks: the bronze rows appended since the
    checkpoint (schema BRONZE) and the records earlier runs held in fhir_waiting (schema WAITING),
    both as bronze rows plus CARRIED (null for the new ones). A row in both -- left by a run that
    died after writing fhir_waiting but before its checkpoint -- is taken once, as held."""
    names = [f.name for f in BRONZE.fields]
    parts = []
    if appended is not None:
        new = appended if held is None else appended.join(held.select(*WAITING_KEY), list(WAITING_KEY), "left_anti")
        parts.append(new.select(*names, F.lit(None).cast("bigint").alias("waiting_since_seq"),
                                F.lit(None).cast("timestamp").alias("waiting_since")))
    if held is not None:
        parts.append(held.select(
            *[F.col(n) if n in held.columns else F.lit(None).cast(BRONZE[n].dataType).alias(n) for n in names],
            "waiting_since_seq", "waiting_since"))
    if not parts:
        raise ValueError("with_held: nothing to check (no appended and no held rows)")
    out = parts[0]
    for more in parts[1:]:
        out = out.unionByName(more)
    return out


def with_patient_reference(parsed: DataFrame, patient_ids: DataFrame, run_seq: int,
                           max_waiting_runs: int | None = None) -> DataFrame:
    """Rows that passed every other check but whose patient_id is not among `patient_ids` wait
    for their patient: `waiting` true, `waiting_since_seq` the silver run (checkpoint_seq) that
    first held them (`run_seq` for a new one), `waiting_since` when. With `max_waiting_runs` N a
    row that has waited N runs (run_seq - waiting_since_seq >= N) is quarantined as
    unknown_patient instead (N = 0: at once). Adds `waiting` and CARRIED (null unless waiting)."""
    known = patient_ids.select(F.col("patient_id").alias("_known")).distinct()
    joined = parsed.join(known, parsed["patient_id"] == known["_known"], "left")
    unknown = F.col("reason").isNull() & F.col("_known").isNull()
    carried = set(_carried(parsed))
    since = F.coalesce(F.col("waiting_since_seq"), F.lit(run_seq)) if "waiting_since_seq" in carried \
        else F.lit(run_seq)
    first_held = F.coalesce(F.col("waiting_since"), F.current_timestamp()) if "waiting_since" in carried \
        else F.current_timestamp()
    expired = unknown & (F.lit(run_seq) - since >= max_waiting_runs) if max_waiting_runs is not None \
        else F.lit(False)
    waiting = unknown & ~expired
    return joined.select(
        *[c for c in parsed.columns if c not in ("reason", "detail", *CARRIED)],
        F.when(expired, F.lit("unknown_patient")).otherwise(F.col("reason")).alias("reason"),
        F.when(expired, F.concat(F.lit("subject="), F.col("patient_id"))).otherwise(F.col("detail")).alias("detail"),
        waiting.alias("waiting"),
        F.when(waiting, since).cast("bigint").alias("waiting_since_seq"),
        F.when(waiting, first_held).cast("timestamp").alias("waiting_since"),
    )


def with_unknown_patient(parsed: DataFrame, patient_ids: DataFrame) -> DataFrame:
    """Accepted rows whose patient_id is not among `patient_ids` get reason unknown_patient at
    once (with_patient_reference with max_waiting_runs 0: what a from-scratch view of all input
    says of a record whose patient is nowhere)."""
    return with_patient_reference(parsed, patient_ids, 0, 0).drop("waiting", *CARRIED)


def is_accepted(parsed: DataFrame) -> Column:
    """Passed every check and waits for nothing."""
    ok = F.col("reason").isNull()
    return ok & ~F.col("waiting") if "waiting" in parsed.columns else ok


def _waiting(parsed: DataFrame) -> Column:
    return F.col("waiting") if "waiting" in parsed.columns else F.lit(False)


def with_raw_of_quarantined_only(parsed: DataFrame) -> DataFrame:
    """`raw` kept on quarantined and waiting rows only: silver tables do not store it, so the batch
    a job caches holds the parsed columns instead of every line's JSON (~600 bytes an encounter)."""
    return parsed.withColumn("raw", F.when(F.col("reason").isNotNull() | _waiting(parsed), F.col("raw")))


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
        parsed.where(is_accepted(parsed))
        .withColumn("_rn", F.row_number().over(order))
        .where("_rn = 1")
        .withColumn("silver_run_id", F.lit(silver_run_id))
        .withColumn("updated_at", F.current_timestamp())
        .select(*[F.col(f.name).cast(f.dataType) for f in schema.fields])
    )


def to_waiting_rows(parsed: DataFrame, run_id: str) -> DataFrame:
    """The rows still waiting for their patient, shaped like silver.fhir_waiting."""
    return parsed.where(_waiting(parsed)).select(
        *[(F.lit(run_id) if f.name == "run_id" else F.col(f.name)).cast(f.dataType).alias(f.name)
          for f in WAITING.fields])


def count_outcomes(parsed: DataFrame) -> DataFrame:
    """One-row aggregate: input = accepted + quarantined + waiting."""
    return parsed.agg(
        F.count(F.lit(1)).alias("input"),
        F.count(F.when(is_accepted(parsed), 1)).alias("accepted"),
        F.count(F.when(F.col("reason").isNotNull(), 1)).alias("quarantined"),
        F.count(F.when(_waiting(parsed), 1)).alias("waiting"),
    )
