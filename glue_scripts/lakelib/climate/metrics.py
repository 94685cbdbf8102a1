"""Climate-health gold transforms: pure DataFrame -> DataFrame, no I/O. The per-location daily
metrics (schemas.METRIC_COLUMNS) from the four loaded tables (docs/climate-pipeline.md)."""

from __future__ import annotations

import pyspark.sql.functions as F
from pyspark.sql import DataFrame

from .schemas import CASE_COUNTS, PROBABILITIES


def to_metric_keys(climate: DataFrame, health: DataFrame, hospital: DataFrame) -> DataFrame:
    """Every (location_id, date) present in any fact table, once: the metrics' input rows."""
    return (climate.select("location_id", "date")
            .unionByName(health.select("location_id", "date"))
            .unionByName(hospital.select("location_id", "date")).distinct())


def to_daily_metrics(locations: DataFrame, climate: DataFrame, health: DataFrame, hospital: DataFrame) -> DataFrame:
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
    keys = to_metric_keys(climate, health, hospital)
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
