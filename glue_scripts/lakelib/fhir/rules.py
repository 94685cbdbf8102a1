"""FHIR rules as data: the quarantine reasons, the silver checks of each resource type, the
metric rules of gold; and how failing checks become quarantine rows.

Quarantine: bad records are kept, with the reason, never dropped silently. One row shape for
every layer's quarantine table (bronze.fhir_quarantine and silver.fhir_quarantine:
schemas.QUARANTINE_SCHEMA). Reasons are a closed set, so dashboards and tests can rely on them.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# reason -> what it means (docs/fhir-data-model.md lists the same table)
REASONS = {
    # bronze: the line itself
    "invalid_utf8": "the line is not UTF-8, as JSON text must be (e.g. Latin-1 bytes); raw shows them as U+FFFD",
    "invalid_json": "the line is not exactly one strict JSON object (includes blank lines)",
    "missing_resource_type": "the JSON has no resourceType",
    "missing_id": "the resource has no id (or an empty one)",
    "invalid_id": "the id is not a FHIR id: 1-64 of A-Z a-z 0-9 - . (an object or array id included)",
    "resource_type_mismatch": "resourceType differs from the type named by the file (<ResourceType>.ndjson)",
    # silver: the typed resource
    "missing_required_field": "a field the metrics need is absent (detail names it)",
    "invalid_date": "a date, dateTime or instant field that is not its FHIR R4 grammar or names no calendar day "
                    "(lakelib.fhir.dates; detail: field=value)",
    "partial_date": "Encounter period.start/end is a valid year or year-month, but the metrics need a day "
                    "(detail: field=value)",
    "end_before_start": "Encounter period.end is before period.start",
    "unknown_patient": "the subject reference resolves to no accepted Patient, and it waited --max_waiting_runs "
                       "silver runs for one (by default a record waits in silver.fhir_waiting until it arrives)",
}

BRONZE_REASONS = frozenset({"invalid_utf8", "invalid_json", "missing_resource_type", "missing_id", "invalid_id",
                            "resource_type_mismatch"})
SILVER_REASONS = frozenset(REASONS) - BRONZE_REASONS

# bronze: a raw file as a whole (bronze_files.classify_file, jobs.run_bronze). Ignored files are
# never read and are listed in every run's result (the run report); quarantined files are logged
# in fhir_ingested_files with the reason and read no further (a repaired file comes under a new name).
FILE_REASONS = {
    "not_fhir_ndjson": "ignored: the name is not <ResourceType>[.<part>].ndjson[.gz]",
    "resource_type_not_read": "ignored: NDJSON of a FHIR resource type the pipeline does not read",
    "empty_gzip": "quarantined: a 0-byte .gz file (a gzip stream has at least a header)",
    "corrupt_gzip": "quarantined: a .gz file that does not decompress (truncated, CRC failure, not gzip)",
}

# the FHIR R4 `id` datatype (bronze: invalid_id)
FHIR_ID_PATTERN = r"[A-Za-z0-9\-\.]{1,64}"

# --- silver: the checks of each resource type, in order (the first failing one is the reason) ---
# missing_required_field: {FHIR field: the parsed column that must not be null}
# invalid_date:           {FHIR field: (its JSON text, its FHIR type: date | dateTime | instant)}
# partial_date:           {FHIR field: its JSON text, which must name a day when present}
# end_before_start:       {start field: (text, parsed), end field: (text, parsed)}
# Columns are those of silver's parse_* (`j` = the parsed JSON). Grammars: lakelib.fhir.dates.
SILVER_CHECKS: dict[str, tuple[tuple[str, dict], ...]] = {
    "Patient": (
        ("invalid_date", {"meta.lastUpdated": ("j.meta.lastUpdated", "instant"),
                          "birthDate": ("j.birthDate", "date"),
                          "deceasedDateTime": ("j.deceasedDateTime", "dateTime")}),
    ),
    "Encounter": (
        ("missing_required_field", {"subject": "patient_id", "class.code": "class_code",
                                    "period.start": "j.period.start"}),
        ("invalid_date", {"meta.lastUpdated": ("j.meta.lastUpdated", "instant"),
                          "period.start": ("j.period.start", "dateTime"),
                          "period.end": ("j.period.end", "dateTime")}),
        # admission and discharge dates (LOS, month) are days: a year or a month is not enough
        ("partial_date", {"period.start": "j.period.start", "period.end": "j.period.end"}),
        ("end_before_start", {"period.start": ("j.period.start", "period_start"),
                              "period.end": ("j.period.end", "period_end")}),
    ),
    "Condition": (
        ("missing_required_field", {"subject": "patient_id", "code.coding": "codes"}),
        # abatement/recorded dates are informational: invalid ones read as null
        ("invalid_date", {"meta.lastUpdated": ("j.meta.lastUpdated", "instant"),
                          "onsetDateTime": ("j.onsetDateTime", "dateTime")}),
    ),
}

# --- gold: what the metrics count (docs/metrics.md) ----------------------------------------
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
# system|code, a trailing * matches every code starting with what precedes it
DEFAULT_HAI_CODES = ",".join([
    f"{SNOMED}|91302008", f"{SNOMED}|76571007",
    f"{ICD10CM}|T80.211A", f"{ICD10CM}|T83.511A", f"{ICD10CM}|A04.71", f"{ICD10CM}|A04.72", f"{ICD10CM}|T81.4*",
])
INPATIENT_CLASSES = ("IMP", "ACUTE")
EXCLUDED_ENCOUNTER_STATUS = ("entered-in-error", "cancelled")
EXCLUDED_CONDITION_STATUS = ("entered-in-error",)  # Condition.verificationStatus (or status)
NOT_INDEX_DISPOSITIONS = ("02", "07")  # transfer to short-term hospital, left against advice
EXPIRED = "20"
UNKNOWN_FACILITY = "unknown"

# --- applying the rules ---------------------------------------------------------------------

def first_reason(*checks: tuple[Column, str, Column | None]) -> tuple[Column, Column]:
    """(reason, detail) of the first failing check; each check is (is_bad, reason, detail).
    Both are null when every check passes. Checks are plain Column expressions (no UDF)."""
    reason = F.lit(None).cast("string")
    detail = F.lit(None).cast("string")
    for is_bad, name, det in reversed(checks):
        assert name in REASONS, f"unknown quarantine reason {name!r}; known: {sorted(REASONS)}"
        cond = F.coalesce(is_bad, F.lit(False))
        reason = F.when(cond, F.lit(name)).otherwise(reason)
        detail = F.when(cond, det if det is not None else F.lit(None).cast("string")).otherwise(detail)
    return reason, detail


def to_quarantine_rows(df: DataFrame, stage: str, run_id: str) -> DataFrame:
    """Rows with `reason` set -> schemas.QUARANTINE_SCHEMA. Expects resource_type, resource_id, reason,
    detail, source_file, line_number, ingest_seq, raw columns."""
    return df.where(F.col("reason").isNotNull()).select(
        F.lit(stage).alias("stage"),
        F.col("resource_type").cast("string"),
        F.col("resource_id").cast("string"),
        F.col("reason").cast("string"),
        F.col("detail").cast("string"),
        F.col("source_file").cast("string"),
        F.col("line_number").cast("bigint"),
        F.col("ingest_seq").cast("bigint"),
        F.col("raw").cast("string"),
        F.lit(run_id).alias("run_id"),
        F.current_timestamp().alias("quarantined_at"),
    )
