"""Bronze transforms (pure, DataFrame -> DataFrame, no I/O): classify raw NDJSON lines, shape
bronze rows and the per-file counts of the ingest log."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType

from .rules import FHIR_ID_PATTERN, first_reason
from .schemas import HEADER_JSON, STRICT_JSON


def _blank(c: Column) -> Column:
    return c.isNull() | (F.trim(c) == "")


def with_line_classification(lines: DataFrame) -> DataFrame:
    """Lines (source_file, file_resource_type, line_number, value) + resource_type, resource_id,
    reason, detail. reason is null for a line bronze accepts.

    Bronze checks only what makes a line a resource of its file: UTF-8 text, one strict JSON
    object, resourceType present and equal to the file's type, id a FHIR id. Everything else is
    silver's job, so bronze keeps the raw line untouched; only a line that is not UTF-8 gets its
    bad bytes replaced by U+FFFD in `value` (it is quarantined): Parquet strings must be UTF-8,
    or DuckDB and PyArrow cannot read the table.
    """
    # Spark's text reader keeps a line's bytes as they are; Java decodes each invalid sequence
    # as U+FFFD. So a line is UTF-8 exactly when encoding its decoded text gives its bytes back.
    df = lines.withColumn("_utf8", F.col("value").cast("binary") == F.encode("value", "UTF-8"))
    df = df.withColumn("value", F.when(~F.col("_utf8"), F.encode("value", "UTF-8").cast("string"))
                       .otherwise(F.col("value")))
    # Parsed as the one element of a JSON array: from_json alone stops at the end of the first
    # value, so '{..}{..}' or '{..} junk' would pass; "[" + line + "]" must hold exactly one object.
    wrapped = F.from_json(F.concat(F.lit("["), F.col("value"), F.lit("]")), ArrayType(HEADER_JSON), STRICT_JSON)
    df = df.withColumn("_h", F.when(F.size(wrapped) == 1, wrapped[0]))
    rtype = F.col("_h.resourceType")
    rid = F.col("_h.id")  # Spark gives any scalar as its text, an object or array as its JSON
    reason, detail = first_reason(
        (~F.col("_utf8"), "invalid_utf8",
         F.concat(F.lit("not UTF-8: the bytes shown as U+FFFD in raw (first at character "),
                  F.instr("value", "\ufffd").cast("string"),
                  F.lit("); allowed: UTF-8 text (RFC 8259), e.g. re-encode Latin-1 files as UTF-8"))),
        (F.col("_h").isNull(), "invalid_json", None),
        (_blank(rtype), "missing_resource_type", None),
        (rtype != F.col("file_resource_type"), "resource_type_mismatch",
         F.concat(F.lit("resourceType="), rtype, F.lit(" in a "), F.col("file_resource_type"), F.lit(" file"))),
        (_blank(rid), "missing_id", None),
        (~rid.rlike(f"^{FHIR_ID_PATTERN}\\z"), "invalid_id",
         F.concat(F.lit("id="), rid, F.lit(f"; allowed: {FHIR_ID_PATTERN}"))),
    )
    # the id of a broken line, when readable, helps whoever repairs it (rare rows: parsed lazily)
    readable_id = F.when(F.col("_h").isNull(), F.get_json_object("value", "$.id")).otherwise(rid)
    return (
        df.withColumn("reason", reason)
        .withColumn("detail", detail)
        .withColumn("resource_type", F.col("file_resource_type"))  # what the file holds
        .withColumn("resource_id", F.when(~_blank(readable_id), readable_id))
        .drop("_h", "_utf8")
    )


def to_bronze_rows(classified: DataFrame, resource_type: str, ingest_seq: int, run_id: str) -> DataFrame:
    """Accepted lines of one resource type -> the bronze table schema (raw JSON kept as is)."""
    return classified.where(
        F.col("reason").isNull() & (F.col("file_resource_type") == resource_type)
    ).select(
        F.col("resource_id"),
        F.col("resource_type"),
        F.col("value").alias("raw"),
        F.col("source_file"),
        F.col("line_number"),
        F.lit(ingest_seq).cast("bigint").alias("ingest_seq"),
        F.lit(run_id).alias("run_id"),
        F.current_timestamp().alias("ingested_at"),
    )


def with_quarantine_columns(classified: DataFrame, ingest_seq: int) -> DataFrame:
    """The columns rules.to_quarantine_rows expects."""
    return classified.withColumn("raw", F.col("value")).withColumn(
        "ingest_seq", F.lit(ingest_seq).cast("bigint")
    )


def count_by_file(classified: DataFrame) -> DataFrame:
    """Per source file: lines read, accepted and quarantined lines (one small aggregate)."""
    return classified.groupBy("source_file").agg(
        F.max("line_number").alias("lines"),  # line numbers are 1..n, so max = lines read
        F.count(F.when(F.col("reason").isNull(), 1)).alias("accepted"),
        F.count(F.when(F.col("reason").isNotNull(), 1)).alias("quarantined"),
    )


def filter_unstored(df: DataFrame, existing_keys: DataFrame) -> DataFrame:
    """Rows whose (source_file, line_number) is not already stored (recovery of a run that
    crashed after writing some tables but before its ingest log)."""
    return df.join(existing_keys.select("source_file", "line_number"), ["source_file", "line_number"], "left_anti")
