"""Orders bronze (the extract job's transforms): records read from a raw batch -> typed bronze rows or
quarantine rows with a reason. Pure DataFrame -> DataFrame functions; the reads are lakelib.io.crawled.

A read batch has the table's columns (renamed by the declared aliases), `_corrupt` (the raw text of a
record the reader could not split or parse, else null) and `source_file`. CSV columns arrive as text
and are typed here, column by column, so a reason names the column; JSON arrives typed by the reader
(a value of the wrong type makes the whole line `_corrupt`).
"""

from __future__ import annotations

from typing import Iterable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ByteType,
    DataType,
    DecimalType,
    IntegerType,
    LongType,
    ShortType,
    StringType,
    StructType,
)

CORRUPT = "_corrupt"
REASON, DETAIL = "_reason", "_detail"
TEXT = "_text"  # a CSV record's fields as read (JSON text), kept for its quarantine row


def text_pattern(dt: DataType) -> str | None:
    """The whole-text grammar a CSV value needs before it is cast to `dt` (Spark's lenient cast would
    take '1.5' as the int 1 and round '12.345' into decimal(12,2)); None: the cast alone decides."""
    if isinstance(dt, (ByteType, ShortType, IntegerType, LongType)):
        return r"^[+-]?[0-9]+$"
    if isinstance(dt, DecimalType):
        whole = dt.precision - dt.scale
        frac = rf"(\.[0-9]{{1,{dt.scale}}})?" if dt.scale else ""
        return rf"^[+-]?[0-9]{{1,{whole}}}{frac}$"
    return None


def _typed(value: Column, dt: DataType) -> tuple[Column, Column]:
    """(the value as `dt`, whether a present value failed to become one)."""
    if isinstance(dt, StringType):
        return value, F.lit(False)
    text = F.trim(value)
    typed = text.cast(dt)
    bad = text.isNotNull() & typed.isNull()
    pattern = text_pattern(dt)
    if pattern is not None:
        ok = text.rlike(pattern)
        typed = F.when(ok, typed)
        bad = text.isNotNull() & (~ok | typed.isNull())
    return typed, bad


def with_typed_text(df: DataFrame, schema: StructType) -> DataFrame:
    """Text columns of a CSV batch cast to `schema`'s types (top-level primitives); adds REASON
    (malformed_record | type_mismatch | null) and DETAIL ("quantity='two' is not int; ...")."""
    typed, problems = {}, []
    for f in schema.fields:
        if f.name not in df.columns:
            continue
        col, bad = _typed(F.col(f"`{f.name}`"), f.dataType)
        typed[f.name] = col
        problems.append(F.when(bad, F.concat(F.lit(f"{f.name}='"), F.col(f"`{f.name}`"),
                                             F.lit(f"' is not {f.dataType.simpleString()}"))))
    detail = F.concat_ws("; ", *problems) if problems else F.lit("")
    as_read = F.to_json(F.struct(*[F.col(f"`{f.name}`") for f in schema.fields if f.name in df.columns]))
    return (
        df.withColumn(TEXT, as_read)
        .withColumn(DETAIL, F.when(F.col(CORRUPT).isNotNull(), F.lit("fields do not match the header"))
                      .when(detail != "", detail))
        .withColumn(REASON, F.when(F.col(CORRUPT).isNotNull(), F.lit("malformed_record"))
                    .when(F.col(DETAIL).isNotNull(), F.lit("type_mismatch")))
        .withColumns({name: F.when(F.col(CORRUPT).isNull(), c) for name, c in typed.items()})
    )


def with_parsed_json(df: DataFrame) -> DataFrame:
    """A JSON batch read with the table's schema: REASON malformed_record for a line the reader could not
    make a record of the table's shape (not a JSON object, or a value of another type)."""
    bad = F.col(CORRUPT).isNotNull()
    return (df.withColumn(REASON, F.when(bad, F.lit("malformed_record")))
            .withColumn(DETAIL, F.when(bad, F.lit("not a JSON object of the table's types"))))


def with_batch_quarantined(df: DataFrame, why: str) -> DataFrame:
    """Every record of an incompatible batch: REASON schema_incompatible, DETAIL why."""
    return df.withColumn(REASON, F.lit("schema_incompatible")).withColumn(DETAIL, F.lit(why))


def to_bronze_rows(df: DataFrame, table: StructType, batch: str, run_id: str) -> DataFrame:
    """The accepted records in `table`'s column order (a column the batch lacks is null), plus lineage."""
    ok = df.where(F.col(REASON).isNull())
    cols = [(F.col(f"`{f.name}`") if f.name in df.columns else F.lit(None)).cast(f.dataType).alias(f.name)
            for f in table.fields]
    return ok.select(*cols, F.col("source_file"), F.lit(batch).alias("batch"), F.lit(run_id).alias("ingest_run_id"))


def record_text(df: DataFrame, columns: Iterable[str]) -> Column:
    """The record as read: the raw line when the reader kept one, else its fields (as text when they
    were typed here) as a JSON object."""
    present = [c for c in columns if c in df.columns]
    fields = F.to_json(F.struct(*[F.col(f"`{c}`") for c in present]))
    return F.coalesce(*[F.col(c) for c in (CORRUPT, TEXT) if c in df.columns], fields)


def to_quarantine_rows(df: DataFrame, source: str, key: str, run_id: str, columns: Iterable[str],
                       stage: str = "bronze") -> DataFrame:
    """The quarantined records as rows of schemas.QUARANTINE."""
    bad = df.where(F.col(REASON).isNotNull())
    key_col = F.col(f"`{key}`").cast("string") if key in df.columns else F.lit(None).cast("string")
    return bad.select(
        F.lit(stage).alias("stage"), F.lit(source).alias("source"), F.col(REASON).alias("reason"),
        F.col(DETAIL).alias("detail"), key_col.alias("record_key"), F.col("source_file"),
        record_text(bad, columns).alias("record"), F.lit(run_id).alias("run_id"),
    )


def count_outcomes(df: DataFrame) -> tuple[int, int]:
    """(accepted, quarantined) records of a classified batch, in one pass."""
    row = df.agg(F.count(F.when(F.col(REASON).isNull(), 1)).alias("a"),
                 F.count(F.when(F.col(REASON).isNotNull(), 1)).alias("q")).first()
    return int(row["a"]), int(row["q"])
