"""Climate-health schemas: the four CSV feeds (raw folder, PostgreSQL table, natural key,
typed columns), the bronze bookkeeping tables, the gold metrics table and the PostgreSQL
schema file shipped with the library (climate_schema.sql)."""

from __future__ import annotations

import pkgutil
from dataclasses import dataclass


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


# --- where the files are --------------------------------------------------------------------
RAW_PREFIX = "climate/"  # <raw_path>climate/<feed>/*.csv[.gz]
EXTRACTS_PREFIX = "climate/extracts/"  # <gold_path>climate/extracts/daily_metrics/{csv,json}/


def csv_kind(feed_name: str):
    """The raw-file name filter of a feed: *.csv and *.csv.gz files are the feed's."""
    return lambda name: feed_name if name.endswith((".csv", ".csv.gz")) else None


# --- bronze: bookkeeping of the ingest jobs (Iceberg) ---------------------------------------
INGESTED_FILES = "climate_ingested_files"
QUARANTINE = "climate_quarantine"
CORRECTIONS = "climate_corrections"
BRONZE_TABLES = {
    INGESTED_FILES: "feed string, source_file string, size bigint, lines bigint, run_id string, "
                    "ingested_at timestamp",
    QUARANTINE: "feed string, source_file string, source_line int, raw_line string, reason string, "
                "run_id string, quarantined_at timestamp",
    CORRECTIONS: "table_name string, row_key string, column_name string, original_value string, "
                 "corrected_value string, rule string, run_id string, source_file string, source_line int, "
                 "corrected_at timestamp",
}

# --- gold: per-location daily metrics (Iceberg, full refresh) -------------------------------
METRICS_TABLE = "climate_daily_metrics"
METRIC_COLUMNS = (
    "location_id", "date", "location_name", "location_type", "population", "population_density",
    "temperature", "precipitation", "flood_probability", "drought_probability", "heatwave_probability",
    "climate_risk_index", "total_cases", "cases_per_100k", "heat_related_cases_per_100k",
    "total_beds", "available_beds", "bed_occupancy_rate", "beds_per_100k",
)


def schema_ddl() -> str:
    """The PostgreSQL schema (lakelib/climate/climate_schema.sql), read as package data so it is
    the same file from a checkout and from the --extra-py-files zip on Glue."""
    return pkgutil.get_data(__package__, "climate_schema.sql").decode("utf-8")
