"""Shared pytest fixtures.

`spark`: one local SparkSession for the whole test session (local[2], 2 shuffle partitions,
UI off, UTC), with the Iceberg Hadoop catalog `local` rooted at a temporary warehouse.
Tests that need their own empty warehouse call `lakelib.runtime.session.local_spark_session(tmp_path)`,
which returns a session sharing the same JVM but with its own `local` catalog.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

GLUE_SCRIPTS = Path(__file__).resolve().parent.parent / "glue_scripts"
os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")  # pyspark.testing imports pandas-on-Spark
# PySpark turns timestamps into naive datetimes in the Python process's zone: make it UTC like Spark's
os.environ["TZ"] = "UTC"
time.tzset()
# Every driver JVM the tests start (the shared session, the runner subprocesses, the bench) lives for
# seconds to minutes on tiny data: there the C2 JIT compiler burned about a third of the JVM's CPU and
# bought nothing (a fault-tolerance subset on 2 workers: 650 s wall with it, 533 s without). Results
# do not depend on the JIT tier; runs and benchmarks outside the tests keep the JVM's default.
# C1 alone also gets the JVM's small code cache (48 MB), and a long-lived JVM (an xdist worker's) filled it
# in two 16-patient FHIR runs: from then on it flushed compiled code and compiled it again, up to a third
# of a warm run's CPU. 240 MB is the size the JVM reserves when C2 is on (docs/benchmarks.md, eighth round).
# They also map the Spark classes from the archive scripts/test.sh makes (tests/jvm_archive.py) when
# it is there: a quarter less CPU for each fresh driver JVM.
if str(GLUE_SCRIPTS) not in sys.path:
    sys.path.insert(0, str(GLUE_SCRIPTS))
if "LAKEHOUSE_DRIVER_JAVA_OPTIONS" not in os.environ:
    from jvm_archive import TEST_JIT, archive_path

    _archive = archive_path()
    os.environ["LAKEHOUSE_DRIVER_JAVA_OPTIONS"] = (
        f"{TEST_JIT} -XX:SharedArchiveFile={_archive}" if _archive.is_file() else TEST_JIT)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "heavy(minutes): a module of whole minutes of Spark (about `minutes` of one CI worker); run first")


def pytest_collection_modifyitems(config, items):
    """The heaviest modules first, longest first. scripts/test.sh runs xdist with --dist loadfile
    --no-loadscope-reorder, so workers take whole files in this order: a long file started last
    would leave one worker running it alone (xdist's default order, by test count, puts the
    one-test benchmark and the few-test fault-tolerance files last)."""
    def weight(item) -> float:
        mark = item.get_closest_marker("heavy")
        return -float(mark.kwargs.get("minutes", 1)) if mark else 0.0

    items.sort(key=weight)  # stable: within a module and among light modules the collection order stays


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from lakelib.runtime.session import local_spark_session

    session = local_spark_session(tmp_path_factory.mktemp("warehouse"), app_name="glue-lakehouse-tests",
                                  shuffle_partitions=2)
    yield session
    session.stop()
