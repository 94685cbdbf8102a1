"""Climate-health transforms: pure DataFrame -> DataFrame functions, no I/O.

Four CSV feeds (locations, climate, health, hospital) are parsed from text lines, typed
and validated with Spark expressions only (no Python UDFs), corrected where the source
system's rules say so, and split into accepted rows (loaded into PostgreSQL), quarantined
rows (with every reason) and correction audit rows. `daily_metrics` derives the gold
per-location daily metrics from the loaded tables. docs/climate-pipeline.md describes the
rules and metrics; each rule has a test in tests/test_climate_rules.py.

Row shape after `parse_lines` + `validate`:
  typed columns of the feed | _source_file | _source_line | _raw (struct of the raw strings)
  | _reason (null when accepted; "; "-joined reasons) | _corrections (array of structs)
"""

from __future__ import annotations

from dataclasses import dataclass

import pyspark.sql.functions as F
from pyspark.sql import Column, DataFrame, Window

INT_RE = r"^[+-]?[0-9]{1,10}$"
NUMBER_RE = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$"
DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
KIND_WORDS = {"string": "text", "int": "an integer", "double": "a number", "date": "a yyyy-MM-dd date"}

NEGATIVE_PROBABILITY_RULE = "negative probability set to 0"
NEGATIVE_COUNT_RULE = "negative case count set to 0"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # string | int | double | date
    required: bool = True


@dataclass(frozen=True)
class Feed:
    """One CSV feed: its raw folder, its PostgreSQL table and natural key, its columns."""

    name: str  # folder under <raw_path>climate/
    table: str  # PostgreSQL table
    key: tuple[str, ...]
    fields: tuple[Field, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def header(self) -> str:
        return ",".join(self.columns)


PROBABILITIES = ("flood_probability", "drought_probability", "heatwave_probability")
CASE_COUNTS = ("respiratory_cases", "heat_related_cases", "waterborne_cases", "vector_borne_cases")
RESOURCE_COUNTS = ("total_beds", "available_beds", "icu_beds", "staff_count")

FEEDS: dict[str, Feed] = {
    "locations": Feed("locations", "locations", ("location_id",), (
        Field("location_id", "string"), Field("name", "string"), Field("type", "string"),
        Field("population", "int"), Field("area", "double"),
    )),
    "climate": Feed("climate", "climate_data", ("location_id", "date"), (
        Field("location_id", "string"), Field("date", "date"), Field("temperature", "double"),
        Field("precipitation", "double", required=False), Field("humidity", "double", required=False),
        *(Field(p, "double", required=False) for p in PROBABILITIES),
    )),
    "health": Feed("health", "health_data", ("location_id", "date"), (
        Field("location_id", "string"), Field("date", "date"),
        *(Field(c, "int") for c in CASE_COUNTS),
    )),
    "hospital": Feed("hospital", "hospital_data", ("location_id", "date"), (
        Field("location_id", "string"), Field("date", "date"),
        *(Field(c, "int") for c in RESOURCE_COUNTS),
    )),
}


def feed(name: str) -> Feed:
    if name not in FEEDS:
        raise ValueError(f"unknown climate feed {name!r}; feeds: {sorted(FEEDS)}")
    return FEEDS[name]


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


def _value_reasons(fd: Feed) -> list[Column]:
    """Rules that reject a well-typed row (values no correction can fix)."""
    c = F.col
    if fd.name == "locations":
        return [
            F.when(c("population") < 0, F.concat(F.lit("population: "), c("population").cast("string"),
                                                 F.lit(" is negative"))),
            F.when(c("area") <= 0, F.concat(F.lit("area: "), c("area").cast("string"),
                                            F.lit(" is not > 0"))),
        ]
    if fd.name == "climate":
        return [F.when(c(p) > 1, F.concat(F.lit(f"{p}: "), c(p).cast("string"), F.lit(" is above 1")))
                for p in PROBABILITIES]
    if fd.name == "hospital":
        return [
            *(F.when(c(r) < 0, F.concat(F.lit(f"{r}: "), c(r).cast("string"), F.lit(" is negative")))
              for r in RESOURCE_COUNTS),
            F.when(c("available_beds") > c("total_beds"), F.concat(
                F.lit("available_beds: "), c("available_beds").cast("string"),
                F.lit(" exceeds total_beds "), c("total_beds").cast("string"))),
        ]
    return []


def _corrections(fd: Feed) -> list[tuple[str, str]]:
    """(column, rule) pairs the source system corrects instead of rejecting: values below 0
    become 0."""
    if fd.name == "climate":
        return [(p, NEGATIVE_PROBABILITY_RULE) for p in PROBABILITIES]
    if fd.name == "health":
        return [(n, NEGATIVE_COUNT_RULE) for n in CASE_COUNTS]
    return []


def _join_reasons(reasons: list[Column]) -> Column:
    joined = F.concat_ws("; ", *reasons) if reasons else F.lit("")
    return F.when(joined != "", joined)


def validate(parsed: DataFrame, fd: Feed, known_locations: DataFrame | None = None) -> DataFrame:
    """Type every field, apply the feed's rules and corrections, and mark each row with
    `_reason` (null = accepted). `known_locations` (one column location_id) rejects fact
    rows whose location is unknown. Among otherwise valid rows sharing a key, the one
    ingested last (source file, then line) wins; the others are rejected as superseded."""
    df = parsed
    for f in fd.fields:
        df = df.withColumn(f.name, _typed(F.col(f"_raw.{f.name}"), f.kind))
    reasons = _field_reasons(fd)
    if known_locations is not None and fd.name != "locations":
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
    df = df.withColumn("_reason", F.coalesce(F.col("_parse_reason"), F.col("_reason"),
                                             _join_reasons(_value_reasons(fd))))

    fixes = _corrections(fd)
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

    valid = F.col("_reason").isNull()
    latest_first = Window.partitionBy(valid, *fd.key).orderBy(
        F.col("_source_file").desc(), F.col("_source_line").desc())
    df = df.withColumn("_rank", F.when(valid, F.row_number().over(latest_first)))
    superseded = F.lit(f"duplicate key ({', '.join(fd.key)}) in this run: superseded by a later line")
    df = df.withColumn("_reason", F.when(F.col("_rank") > 1, superseded).otherwise(F.col("_reason")))
    df = df.withColumn("_corrections", F.when(F.col("_reason").isNull(), F.col("_corrections"))
                       .otherwise(F.slice(F.col("_corrections"), 1, 0)))
    for f in fd.fields:
        if f.kind == "int":
            df = df.withColumn(f.name, F.col(f.name).cast("int"))
    return df.drop("_rank", "_parse_reason")


def accepted(validated: DataFrame, fd: Feed) -> DataFrame:
    """Accepted rows: the feed's typed columns plus lineage (source_file, source_line)."""
    return validated.filter(F.col("_reason").isNull()).select(
        *fd.columns, F.col("_source_file").alias("source_file"), F.col("_source_line").alias("source_line"))


def quarantined(validated: DataFrame, fd: Feed, run_id: str) -> DataFrame:
    """Rejected rows in the quarantine table's shape."""
    return validated.filter(F.col("_reason").isNotNull()).select(
        F.lit(fd.name).alias("feed"),
        F.col("_source_file").alias("source_file"),
        F.col("_source_line").cast("int").alias("source_line"),
        F.col("_line").alias("raw_line"),
        F.col("_reason").alias("reason"),
        F.lit(run_id).alias("run_id"),
    )


def corrections(validated: DataFrame, fd: Feed, run_id: str) -> DataFrame:
    """One audit row per corrected value of an accepted row."""
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


# --- derived metrics -------------------------------------------------------------------

METRIC_COLUMNS = (
    "location_id", "date", "location_name", "location_type", "population", "population_density",
    "temperature", "precipitation", "flood_probability", "drought_probability", "heatwave_probability",
    "climate_risk_index", "total_cases", "cases_per_100k", "heat_related_cases_per_100k",
    "total_beds", "available_beds", "bed_occupancy_rate", "beds_per_100k",
)


def daily_metrics(locations: DataFrame, climate: DataFrame, health: DataFrame, hospital: DataFrame) -> DataFrame:
    """Per (location_id, date) present in any fact table, joined to its location:

    - population_density = population / area
    - climate_risk_index = 1 - (1-flood)(1-drought)(1-heatwave): the chance of at least one
      hazard if they were independent; a missing probability counts as 0; null without a
      climate row or when all three are missing
    - total_cases = sum of the four case counts; cases_per_100k = total_cases / population
      * 100000 (and the same for heat-related cases); null without a health row or when the
      population is 0
    - bed_occupancy_rate = (total_beds - available_beds) / total_beds, null when total_beds is 0
      or without a hospital row; beds_per_100k = total_beds / population * 100000
    """
    c = F.col
    keys = (climate.select("location_id", "date")
            .unionByName(health.select("location_id", "date"))
            .unionByName(hospital.select("location_id", "date")).distinct())
    cl = climate.select("location_id", "date", "temperature", "precipitation", *PROBABILITIES,
                        F.lit(True).alias("_has_climate"))
    he = health.select("location_id", "date", *CASE_COUNTS)
    ho = hospital.select("location_id", "date", "total_beds", "available_beds")
    loc = locations.select("location_id", c("name").alias("location_name"),
                           c("type").alias("location_type"), "population", "area")
    df = (keys.join(loc, "location_id", "inner")
          .join(cl, ["location_id", "date"], "left")
          .join(he, ["location_id", "date"], "left")
          .join(ho, ["location_id", "date"], "left"))
    per_100k = lambda n: F.when(c("population") > 0, n * F.lit(100000.0) / c("population"))  # noqa: E731
    all_missing = c(PROBABILITIES[0]).isNull() & c(PROBABILITIES[1]).isNull() & c(PROBABILITIES[2]).isNull()
    risk = F.lit(1.0)
    for p in PROBABILITIES:
        risk = risk * (F.lit(1.0) - F.coalesce(c(p), F.lit(0.0)))
    total_cases = sum((c(n).cast("long") for n in CASE_COUNTS[1:]), c(CASE_COUNTS[0]).cast("long"))
    return df.select(
        "location_id", "date", "location_name", "location_type", "population",
        (c("population") / c("area")).alias("population_density"),
        "temperature", "precipitation", *PROBABILITIES,
        F.when(c("_has_climate") & ~all_missing, F.lit(1.0) - risk).alias("climate_risk_index"),
        total_cases.alias("total_cases"),
        per_100k(total_cases).alias("cases_per_100k"),
        per_100k(c("heat_related_cases")).alias("heat_related_cases_per_100k"),
        "total_beds", "available_beds",
        F.when(c("total_beds") > 0, (c("total_beds") - c("available_beds")) / c("total_beds"))
        .alias("bed_occupancy_rate"),
        per_100k(c("total_beds")).alias("beds_per_100k"),
    )
