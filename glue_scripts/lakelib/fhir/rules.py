"""Quarantine: bad records are kept, with the reason, never dropped silently.

One row shape for every layer's quarantine table (bronze.fhir_quarantine and
silver.fhir_quarantine). Reasons are a closed set, so dashboards and tests can rely on them.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

# reason -> what it means (docs/fhir-data-model.md lists the same table)
REASONS = {
    # bronze: the line itself
    "invalid_json": "the line is not exactly one strict JSON object (includes blank lines)",
    "missing_resource_type": "the JSON has no resourceType",
    "missing_id": "the resource has no id (or an empty one)",
    "invalid_id": "the id is not a FHIR id: 1-64 of A-Z a-z 0-9 - . (an object or array id included)",
    "resource_type_mismatch": "resourceType differs from the type named by the file (<ResourceType>.ndjson)",
    # silver: the typed resource
    "missing_required_field": "a field the metrics need is absent (detail names it)",
    "invalid_date": "a date/dateTime field that does not parse as ISO-8601 (detail: field=value)",
    "end_before_start": "Encounter period.end is before period.start",
    "unknown_patient": "the subject reference resolves to no accepted Patient",
}

BRONZE_REASONS = frozenset({"invalid_json", "missing_resource_type", "missing_id", "invalid_id",
                            "resource_type_mismatch"})
SILVER_REASONS = frozenset(REASONS) - BRONZE_REASONS

QUARANTINE_SCHEMA = StructType([
    StructField("stage", StringType()),  # bronze | silver
    StructField("resource_type", StringType()),  # from the file name (bronze) or the resource (silver)
    StructField("resource_id", StringType()),
    StructField("reason", StringType()),
    StructField("detail", StringType()),
    StructField("source_file", StringType()),  # relative to the raw zone root, e.g. fhir/batch-0001/Patient.ndjson
    StructField("line_number", LongType()),  # 1-based line in the (decompressed) file
    StructField("ingest_seq", LongType()),  # bronze run sequence that ingested the line
    StructField("raw", StringType()),  # the line as read
    StructField("run_id", StringType()),  # the run that quarantined it
    StructField("quarantined_at", TimestampType()),
])

QUARANTINE_KEY = ("stage", "source_file", "line_number", "reason")


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
    """Rows with `reason` set -> QUARANTINE_SCHEMA. Expects resource_type, resource_id, reason,
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
