"""Climate-health ingest transforms: pure DataFrame -> DataFrame functions, no I/O.

Four CSV feeds (locations, climate, health, hospital; schemas.FEEDS) are parsed from text
lines, typed and validated with Spark expressions only (no Python UDFs), corrected where the
source system's rules say so (rules.py), and split into accepted rows (loaded into
PostgreSQL), quarantined rows (with every reason) and correction audit rows.
docs/climate-pipeline.md describes the rules; each rule has a test in tests/glue_scripts/test_climate_rules.py.

Row shape after `parse_lines` + `validate`:
  typed columns of the feed | _source_file | _source_line | _raw (struct of the raw strings)
  | _reason (null when accepted; "; "-joined reasons) | _corrections (array of structs)
"""

from __future__ import annotations

import operator

import pyspark.sql.functions as F
from pyspark.sql import Column, DataFrame, Window

from .rules import (
    CORRECTIONS,
    DATE_RE,
    INT_RE,
    KIND_WORDS,
    KNOWN_LOCATION_FEEDS,
    NUMBER_RE,
    VALUE_RULES,
    ValueRule,
)
from .schemas import Feed

OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt}


# --- parsing ---------------------------------------------------------------------------

def parse_lines(lines: DataFrame, fd: Feed) -> DataFrame:
    """Text lines (value, _source_file, _source_line; line 1 = header) -> one row per data
    line with the raw string fields in `_raw`, and `_reason` set for malformed lines and for
    every line of a file whose header is not the feed's header. Blank lines are dropped."""
    by_file = Window.partitionBy("_source_file")
    header = F.regexp_replace(F.trim(F.col("value")), "^\ufeff", "")
    schema = ", ".join(f"`{c}` string" for c in fd.columns) + ", `_corrupt` string"
    with_header = lines.withColumn(
        "_header", F.max(F.when(F.col("_source_line") == 1, header)).over(by_file)
    )
    data = with_header.filter((F.col("_source_line") > 1) & (F.trim(F.col("value")) != ""))
    parsed = data.withColumn("_p", F.from_csv(
        F.col("value"), schema,
        {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt", "ignoreLeadingWhiteSpace": "true",
         "ignoreTrailingWhiteSpace": "true"},
    ))
    bad_header = F.col("_header") != F.lit(fd.header)
    reason = (
        F.when(bad_header, F.concat(F.lit("file header '"), F.col("_header"),
                                    F.lit(f"' is not the expected '{fd.header}'")))
        .when(F.col("_p._corrupt").isNotNull(),
              F.lit(f"malformed CSV line: expected {len(fd.columns)} fields ({fd.header})"))
    )
    raw = F.struct(*[
        F.when(F.trim(F.col(f"_p.{c}")) != "", F.trim(F.col(f"_p.{c}"))).alias(c) for c in fd.columns
    ])
    return parsed.select(
        raw.alias("_raw"), "_source_file", "_source_line", reason.alias("_parse_reason"),
        F.col("value").alias("_line"),
    )


# --- validation ------------------------------------------------------------------------

def _typed(raw: Column, kind: str) -> Column:
    if kind == "int":
        return F.when(raw.rlike(INT_RE), raw.cast("long")).cast("long")
    if kind == "double":
        return F.when(raw.rlike(NUMBER_RE), raw.cast("double"))
    if kind == "date":
        # make_date is null for impossible dates (2024-02-30); to_date would throw on them.
        return F.when(raw.rlike(DATE_RE), F.make_date(
            F.substring(raw, 1, 4).cast("int"), F.substring(raw, 6, 2).cast("int"),
            F.substring(raw, 9, 2).cast("int")))
    return raw


def _quoted(c: Column) -> Column:
    return F.concat(F.lit("'"), c, F.lit("'"))


def _field_reasons(fd: Feed) -> list[Column]:
    """Missing required values and values that do not parse as their type."""
    out = []
    for f in fd.fields:
        raw = F.col(f"_raw.{f.name}")
        if f.required:
            out.append(F.when(raw.isNull(), F.lit(f"{f.name}: missing")))
        if f.kind != "string":
            bad = raw.isNotNull() & _typed(raw, f.kind).isNull()
            if f.kind == "int":  # a valid integer that does not fit the column is out of range
                bad = bad | (raw.isNotNull() & ~F.col(f.name).between(-(2 ** 31), 2 ** 31 - 1))
            out.append(F.when(bad, F.concat(F.lit(f"{f.name}: "), _quoted(raw),
                                            F.lit(f" is not {KIND_WORDS[f.kind]}"))))
    return out


def _value_reason(rule: ValueRule) -> Column:
    c = F.col
    bound = c(rule.bound) if isinstance(rule.bound, str) else rule.bound
    parts = [F.lit(f"{rule.column}: "), c(rule.column).cast("string")]
    if isinstance(rule.bound, str):  # "available_beds: 12 exceeds total_beds 10"
        parts += [F.lit(f" {rule.words} "), bound.cast("string")]
    else:
        parts.append(F.lit(f" {rule.words}"))
    return F.when(OPERATORS[rule.op](c(rule.column), bound), F.concat(*parts))


def _value_reasons(fd: Feed) -> list[Column]:
    """Rules that reject a well-typed row (values no correction can fix): rules.VALUE_RULES."""
    return [_value_reason(rule) for rule in VALUE_RULES.get(fd.name, ())]


def _join_reasons(reasons: list[Column]) -> Column:
    joined = F.concat_ws("; ", *reasons) if reasons else F.lit("")
    return F.when(joined != "", joined)


def with_typed_fields(parsed: DataFrame, fd: Feed) -> DataFrame:
    """Every field of the feed as a typed column (null when its text is not of its kind)."""
    df = parsed
    for f in fd.fields:
        df = df.withColumn(f.name, _typed(F.col(f"_raw.{f.name}"), f.kind))
    return df


def with_reasons(typed: DataFrame, fd: Feed, known_locations: DataFrame | None = None) -> DataFrame:
    """`_reason`: the parse reason, else the field reasons (missing, not of its kind, unknown
    location: `known_locations` has one column location_id), else the value rules; null when
    the row passes. One message per problem, "; "-joined."""
    df = typed
    reasons = _field_reasons(fd)
    if known_locations is not None and fd.name in KNOWN_LOCATION_FEEDS:
        known = known_locations.select(F.col("location_id").alias("_known_id")).distinct()
        df = df.join(F.broadcast(known), F.col("location_id") == F.col("_known_id"), "left")
        reasons.append(F.when(F.col("location_id").isNotNull() & F.col("_known_id").isNull(),
                              F.concat(F.lit("location_id: "), _quoted(F.col("location_id")),
                                       F.lit(" is not a known location"))))
        df = df.withColumn("_reason", _join_reasons(reasons)).drop("_known_id")
    else:
        df = df.withColumn("_reason", _join_reasons(reasons))
    # A malformed line or a file with the wrong header is reported as that alone; value
    # rules only judge rows whose fields all parsed (one message per problem).
    return df.withColumn("_reason", F.coalesce(F.col("_parse_reason"), F.col("_reason"),
                                               _join_reasons(_value_reasons(fd))))


def with_corrections(df: DataFrame, fd: Feed) -> DataFrame:
    """rules.CORRECTIONS applied: values below 0 become 0, each one audited in `_corrections`."""
    fixes = CORRECTIONS.get(fd.name, ())
    audit = [
        F.when(F.col(col) < 0, F.struct(
            F.lit(col).alias("column_name"), F.col(col).cast("string").alias("original_value"),
            F.lit("0").alias("corrected_value"), F.lit(rule).alias("rule")))
        for col, rule in fixes
    ]
    df = df.withColumn("_corrections", F.filter(F.array(*audit), lambda x: x.isNotNull())
                       if audit else F.array().cast("array<struct<column_name:string,original_value:string,"
                                                    "corrected_value:string,rule:string>>"))
    for col, _ in fixes:
        df = df.withColumn(col, F.when(F.col(col) < 0, F.lit(0).cast(df.schema[col].dataType))
                           .otherwise(F.col(col)))
    return df


def with_superseded(df: DataFrame, fd: Feed) -> DataFrame:
    """Among otherwise valid rows sharing a key, the one ingested last (source file, then line)
    wins; the others get the superseded reason (and lose their corrections)."""
    valid = F.col("_reason").isNull()
    latest_first = Window.partitionBy(valid, *fd.key).orderBy(
        F.col("_source_file").desc(), F.col("_source_line").desc())
    df = df.withColumn("_rank", F.when(valid, F.row_number().over(latest_first)))
    superseded = F.lit(f"duplicate key ({', '.join(fd.key)}) in this run: superseded by a later line")
    df = df.withColumn("_reason", F.when(F.col("_rank") > 1, superseded).otherwise(F.col("_reason")))
    df = df.withColumn("_corrections", F.when(F.col("_reason").isNull(), F.col("_corrections"))
                       .otherwise(F.slice(F.col("_corrections"), 1, 0)))
    return df.drop("_rank")


def validate(parsed: DataFrame, fd: Feed, known_locations: DataFrame | None = None) -> DataFrame:
    """Type every field, apply the feed's rules and corrections, and mark each row with
    `_reason` (null = accepted). `known_locations` (one column location_id) rejects fact
    rows whose location is unknown. Among otherwise valid rows sharing a key, the one
    ingested last (source file, then line) wins; the others are rejected as superseded."""
    df = with_typed_fields(parsed, fd)
    df = with_reasons(df, fd, known_locations)
    df = with_corrections(df, fd)
    df = with_superseded(df, fd)
    for f in fd.fields:
        if f.kind == "int":
            df = df.withColumn(f.name, F.col(f.name).cast("int"))
    return df.drop("_parse_reason")


def to_accepted_rows(validated: DataFrame, fd: Feed) -> DataFrame:
    """Accepted rows: the feed's typed columns plus lineage (source_file, source_line)."""
    return validated.filter(F.col("_reason").isNull()).select(
        *fd.columns, F.col("_source_file").alias("source_file"), F.col("_source_line").alias("source_line"))


def to_quarantine_rows(validated: DataFrame, fd: Feed, run_id: str) -> DataFrame:
    """Rejected rows in the quarantine table's shape (schemas.BRONZE_TABLES[QUARANTINE])."""
    return validated.filter(F.col("_reason").isNotNull()).select(
        F.lit(fd.name).alias("feed"),
        F.col("_source_file").alias("source_file"),
        F.col("_source_line").cast("int").alias("source_line"),
        F.col("_line").alias("raw_line"),
        F.col("_reason").alias("reason"),
        F.lit(run_id).alias("run_id"),
    )


def to_correction_rows(validated: DataFrame, fd: Feed, run_id: str) -> DataFrame:
    """One audit row per corrected value of an accepted row (schemas.BRONZE_TABLES[CORRECTIONS])."""
    key = F.concat_ws("|", *[F.concat(F.lit(f"{k}="), F.col(k).cast("string")) for k in fd.key])
    return (
        validated.filter(F.col("_reason").isNull())
        .select(key.alias("row_key"), "_source_file", "_source_line",
                F.explode("_corrections").alias("c"))
        .select(
            F.lit(fd.table).alias("table_name"), "row_key",
            F.col("c.column_name"), F.col("c.original_value"), F.col("c.corrected_value"),
            F.col("c.rule"), F.lit(run_id).alias("run_id"),
            F.col("_source_file").alias("source_file"), F.col("_source_line").cast("int").alias("source_line"),
        )
    )

