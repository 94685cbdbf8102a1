"""Orchestration of the FHIR jobs: read (tables/raw_files), transform (pure modules), write."""

from __future__ import annotations

from ..args import ArgSpec

BRONZE_ARGS = ArgSpec(
    required=("catalog", "raw_path", "bronze_database"),
    optional={"run_id": None, "JOB_RUN_ID": None, "warehouse": None},
)
SILVER_ARGS = ArgSpec(
    required=("catalog", "bronze_database", "silver_database"),
    optional={"run_id": None, "JOB_RUN_ID": None, "warehouse": None},
)
GOLD_ARGS = ArgSpec(
    required=("catalog", "silver_database", "gold_database"),
    optional={"as_of": None, "hai_codes": None, "run_id": None, "JOB_RUN_ID": None, "warehouse": None},
)


def run_bronze(spark, args):
    raise NotImplementedError("bronze transforms are being written")


def run_silver(spark, args):
    raise NotImplementedError("silver transforms are being written")


def run_gold(spark, args):
    raise NotImplementedError("gold transforms are being written")
