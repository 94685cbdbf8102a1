"""A driver JVM that exits at start is launched once more, then fails naming what the machine had free.

Run in a subprocess whose JAVA_HOME points nowhere, so spark-submit really exits before the gateway
starts (the failure PySpark reports as JAVA_GATEWAY_EXITED); the test's own shared JVM is untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jvm_archive import archive_path

GLUE_SCRIPTS = Path(__file__).resolve().parents[2] / "glue_scripts"

PROGRAM = """
import sys
sys.path.insert(0, {scripts!r})
from lakelib.runtime import session
session.JVM_RELAUNCH_DELAY_S = 0.1
try:
    session.local_spark_session({warehouse!r})
except session.JvmLaunchError as e:
    print("JvmLaunchError:", e)
    sys.exit(3)
"""


def test_a_jvm_that_cannot_start_is_retried_once_then_fails_with_the_machines_free_resources(tmp_path):
    broken_java = tmp_path / "no-jdk"
    program = PROGRAM.format(scripts=str(GLUE_SCRIPTS), warehouse=str(tmp_path / "wh"))
    env = {"PATH": "/usr/bin:/bin", "JAVA_HOME": str(broken_java), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stderr.count("the Spark driver JVM exited at start (") == 1  # one retry, announced
    assert "launching it again in 0s" in done.stderr
    message = done.stdout
    assert "the Spark driver JVM exited before it started, twice" in message
    for fact in ("free disk in ", "memory available: ", "load average: ", "java: not found (JAVA_HOME or PATH)"):
        assert fact in message, fact


def test_the_driver_jvm_runs_with_the_options_of_lakehouse_driver_java_options(spark):
    from lakelib.runtime.session import driver_java_options

    wanted = driver_java_options()
    assert wanted[0] == "-XX:TieredStopAtLevel=1"  # tests/conftest.py's default (and the class archive)
    jvm_args = list(spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert "-Duser.timezone=UTC" in jvm_args
    assert set(wanted) <= set(jvm_args), jvm_args


def test_the_driver_jvms_code_cache_holds_what_a_long_lived_worker_compiles(spark):
    """With C1 alone (tests/conftest.py) the JVM reserves a 48 MB code cache. One 16-patient FHIR run
    left 37 MB of compiled code in it, a second 44 MB: an xdist worker's JVM, which runs many, then spent
    up to a third of each run's CPU flushing compiled code and compiling it again (docs/benchmarks.md)."""
    pools = spark._jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
    code = {p.getName(): p.getUsage().getMax() for p in pools if p.getName().startswith(("CodeCache", "CodeHeap"))}
    assert code, [p.getName() for p in pools]
    assert sum(code.values()) >= 200 * 2**20, code


def test_pysparks_hot_class_names_cost_no_round_trip_to_the_jvm(spark, monkeypatch):
    """py4j's JVM view sends a name it does not hold to the JVM on every access, which resolves it from
    the default package on (each miss a failed lookup through every jar on the class path). PySpark
    names `functions` (every F.col, F.lit...), `SparkSession` and `PythonUtils` about 1,800 times in a
    warm 16-patient FHIR run: the view must hold them, so that only their members are looked up."""
    from py4j import protocol
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from lakelib.runtime.session import PYSPARK_HOT_CLASSES

    client = spark.sparkContext._jvm._gateway_client
    sent, send = [], client.send_command

    def recorded(command, *args, **kwargs):
        sent.append(command.split("\n"))
        return send(command, *args, **kwargs)

    monkeypatch.setattr(client, "send_command", recorded)
    assert SparkSession.getActiveSession() is not None
    assert spark.range(3).select(F.col("id"), F.lit(1).alias("one")).where(F.col("id") > 0).count() == 2
    monkeypatch.undo()

    reflect = protocol.REFLECTION_COMMAND_NAME.strip()
    resolved = {c[2] for c in sent if c[:2] == [reflect, protocol.REFL_GET_UNKNOWN_SUB_COMMAND_NAME.strip()]}
    members_of = {c[2] for c in sent if c[:2] == [reflect, protocol.REFL_GET_MEMBER_SUB_COMMAND_NAME.strip()]}
    hot = {fqn.rsplit(".", 1)[1]: fqn for fqn in PYSPARK_HOT_CLASSES}
    assert {"functions", "SparkSession", "PythonUtils"} <= set(hot)
    assert {hot["functions"], hot["SparkSession"], hot["PythonUtils"]} <= members_of  # the three were used
    assert not resolved & set(hot), sorted(resolved)


def test_a_querys_generated_code_is_still_cached_after_hundreds_of_other_generated_classes(spark):
    """A long-lived JVM (an xdist worker, the runner's repeated runs) runs the same plans again, and
    Spark keeps the classes it generates for them in one cache for the whole JVM. A 16-patient FHIR
    run alone generates about 250; with a cache smaller than that every run compiled them all again."""
    import uuid

    codegen = spark._jvm.org.apache.spark.metrics.source.CodegenMetrics

    def compiled(query) -> int:
        before = codegen.METRIC_COMPILATION_TIME().getCount()
        query.collect()
        return codegen.METRIC_COMPILATION_TIME().getCount() - before

    def distinct_query(n: int) -> str:  # a new literal gives new generated source, so new classes
        return f"SELECT id * {n} + {n} AS x FROM range(0, 1, 1, 1)"

    first = int(uuid.uuid4().int % 10**12) + 10**6  # not compiled by an earlier test in this JVM
    assert compiled(spark.sql(distinct_query(first))) >= 1
    others = " UNION ALL ".join(distinct_query(first + n) for n in range(1, 131))  # each branch its own stage
    assert compiled(spark.sql(others)) >= 250  # as many as a FHIR run generates, over Spark's default of 100
    assert compiled(spark.sql(distinct_query(first))) == 0


def test_a_fresh_driver_jvm_maps_the_spark_classes_from_the_tests_class_archive(tmp_path):
    """The archive only speeds the tests if a JVM launched the way the tests launch it can use it
    (same JDK, same class path): otherwise the JVM silently loads every class from the jars again."""
    archive = archive_path()
    assert archive.is_file(), f"no class archive at {archive}: scripts/test.sh makes it (python tests/jvm_archive.py)"
    assert f"-XX:SharedArchiveFile={archive}" in os.environ["LAKEHOUSE_DRIVER_JAVA_OPTIONS"]  # tests/conftest.py
    loads = tmp_path / "class-loads.log"
    program = (f"import sys; sys.path.insert(0, {str(GLUE_SCRIPTS)!r})\n"
               "from lakelib.runtime.session import local_spark_session\n"
               f"local_spark_session({str(tmp_path / 'wh')!r}).range(3).count()\n")
    options = f"{os.environ['LAKEHOUSE_DRIVER_JAVA_OPTIONS']} -Xlog:class+load=info:file={loads}"
    done = subprocess.run([sys.executable, "-c", program], env={**os.environ, "LAKEHOUSE_DRIVER_JAVA_OPTIONS": options},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    source = {ln.split()[1]: ln.split(" source: ")[1] for ln in loads.read_text().splitlines() if " source: " in ln}
    for cls in ("org.apache.spark.SparkContext", "org.apache.spark.sql.SparkSession", "scala.Option"):
        assert source[cls] == "shared objects file (top)", (cls, source[cls])  # (top): the dynamic archive
