"""Fixtures shared by the climate-health tests: one real, throwaway PostgreSQL server
(lakehouse.runner.pg_local) per test session. Spark is the shared `spark` fixture of conftest.py."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

from lakehouse.model.pipelines import GLUE_SCRIPTS_DIR
from lakehouse.runner import pg_local

if str(GLUE_SCRIPTS_DIR) not in sys.path:
    sys.path.insert(0, str(GLUE_SCRIPTS_DIR))


@pytest.fixture(scope="session")
def pg():
    """A real PostgreSQL server for the session; its files are removed afterwards."""
    warehouse = Path(tempfile.mkdtemp(prefix="climate-pg-test-"))
    try:
        with pg_local.local_postgres(warehouse) as server:
            yield server
    finally:
        pg_local.remove(warehouse)
        import shutil

        shutil.rmtree(warehouse, ignore_errors=True)


def lines_df(spark, rows: list[tuple[str, int, str]]):
    """(source_file, line number, text) -> the shape lakelib.climate.ingest.parse_lines reads."""
    return spark.createDataFrame(rows, "_source_file string, _source_line bigint, value string")
