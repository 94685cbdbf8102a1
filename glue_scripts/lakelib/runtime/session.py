"""The one place that builds Spark sessions.

- On AWS Glue (awsglue importable): GlueContext + Job; the Iceberg Glue Catalog named
  `glue_catalog` is configured by the platform through the job's `--conf` argument (on
  Glue 5 catalog settings cannot be set from code).
- Locally: a plain SparkSession, local[2], Iceberg SQL extensions, and an Iceberg Hadoop
  catalog named `local` whose warehouse is a folder. Jars come from `.cache/jars/`
  (fetched by scripts/fetch-jars.sh).

Scripts pick nothing themselves: `--catalog` names the catalog, this module provides it.
An entry script's main() is `entrypoint(globals())`: run_entrypoint with its `run` and `ARGS`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

LOCAL_CATALOG = "local"
REPO_ROOT = Path(__file__).resolve().parents[3]  # glue_scripts/lakelib/runtime/session.py
JARS_DIR = Path(os.environ.get("LAKEHOUSE_JARS_DIR", REPO_ROOT / ".cache" / "jars"))
ICEBERG_JAR = "iceberg-spark-runtime-3.5_2.12-1.7.1.jar"
# On the classpath when fetched. The Iceberg AWS bundle (AWS SDK v2) is what Glue 5.0 puts there for
# --datalake-formats iceberg: with it a local session can also load the platform's GlueCatalog +
# S3FileIO catalog (tests/runner/test_fhir_on_moto.py points one at moto). It is on the classpath of
# every local session because one JVM serves a process: a jar cannot be added to a running session.
OPTIONAL_JARS = ("postgresql-42.7.14.jar", "iceberg-aws-bundle-1.7.1.jar")
ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"


# Runtime SQL settings every job session gets, on Glue (spark.conf.set: allowed on Glue 5) and
# locally. The jobs cache short-lived working sets (bronze's classified lines, silver's parsed
# batch) that are read a few times and dropped: compressing their columns cost more CPU than
# it saved (silver's 1M-encounter batch cached in 34 s compressed, 25 s not; docs/benchmarks.md).
JOB_SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.inMemoryColumnarStorage.compressed": "false",
}


# Spark keeps the classes it generates for query plans (Janino) in one cache per JVM, of 100 by default
# (spark.sql.codegen.cache.maxEntries, a static setting). A 16-patient FHIR run generates about 250,
# so a long-lived local JVM (the tests' xdist workers, bench/driver_runs.py) compiled them all again on
# every run: 250 compilations a warm run, about 30 with this cache. A Glue job runs once per JVM and
# keeps Spark's default. Measured: docs/benchmarks.md, "Issue 21, sixth round".
CODEGEN_CACHE_ENTRIES = 2000


# The classes PySpark names by their simple name through py4j's JVM view on every call: `functions`
# (each F.col, F.lit, F.when...: over 1,300 times in a 16-patient FHIR run), `SparkSession` and
# `PythonUtils`. For a name the view does not hold, py4j asks the JVM, which tries the default package,
# then each star import PySpark registered: every miss a failed class lookup through all 250-odd jars
# on the class path. Single imports cut that to one miss (warm runs 10% faster: docs/benchmarks.md,
# "Issue 21, fifth round"); the view holding each class as an attribute cuts it to no round trip at
# all (about 1,800 fewer a warm run, 9% faster: "Issue 21, eighth round").
PYSPARK_HOT_CLASSES = ("org.apache.spark.sql.functions", "org.apache.spark.sql.SparkSession",
                       "org.apache.spark.sql.SparkSession$", "org.apache.spark.api.python.PythonUtils")


def import_pyspark_classes(sc) -> None:
    """Keep each class of PYSPARK_HOT_CLASSES on the JVM view of `sc` under its simple name
    (py4j's view asks the JVM only for names it does not hold; idempotent)."""
    from py4j.java_gateway import JavaClass

    for fqn in PYSPARK_HOT_CLASSES:
        setattr(sc._jvm, fqn.rsplit(".", 1)[1], JavaClass(fqn, sc._jvm._gateway_client))


class MissingJarError(RuntimeError):
    pass


class JvmLaunchError(RuntimeError):
    """The local driver JVM exited before it started, twice; the message carries what was free then."""


JVM_RELAUNCH_DELAY_S = 5.0


def jvm_launch_conditions() -> str:
    """What a JVM needs to start, as free on this machine now: PySpark only says the JVM exited
    (its own stderr goes to the console), and a starved machine (disk, memory) is the usual cause."""
    tmp = tempfile.gettempdir()
    free_gb = shutil.disk_usage(tmp).free / 1e9
    mem = "unknown"
    with contextlib.suppress(OSError):
        lines = Path("/proc/meminfo").read_text().splitlines()
        kb = next(int(line.split()[1]) for line in lines if line.startswith("MemAvailable:"))
        mem = f"{kb / 1e6:.1f} GB"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    java = shutil.which("java", path=os.path.join(os.environ["JAVA_HOME"], "bin")) if os.environ.get("JAVA_HOME") \
        else shutil.which("java")
    return (f"free disk in {tmp}: {free_gb:.1f} GB; memory available: {mem}; load average: {load}; "
            f"java: {java or 'not found (JAVA_HOME or PATH)'}")


def _get_or_create(builder, delay_s: float):
    """builder.getOrCreate(), launching the JVM a second time when the first exited at start: one
    transient failure (seen once in CI) must not fail every test sharing the session."""
    from pyspark.errors import PySparkRuntimeError

    try:
        return builder.getOrCreate()
    except PySparkRuntimeError as first:
        if first.getErrorClass() != "JAVA_GATEWAY_EXITED":
            raise
        print(f"lakehouse: the Spark driver JVM exited at start ({jvm_launch_conditions()}); "
              f"launching it again in {delay_s:.0f}s", file=sys.stderr, flush=True)
        time.sleep(delay_s)
        try:
            return builder.getOrCreate()
        except PySparkRuntimeError as second:
            if second.getErrorClass() != "JAVA_GATEWAY_EXITED":
                raise
            raise JvmLaunchError(
                f"the Spark driver JVM exited before it started, twice ({jvm_launch_conditions()}); "
                "its own error is printed above") from second


def awsglue_available() -> bool:
    try:
        import awsglue  # noqa: F401
    except ImportError:
        return False
    return True


def local_jars(jars_dir: Path = JARS_DIR) -> list[str]:
    """The jar paths for local Spark; a clear error naming the fetch script when missing."""
    iceberg = jars_dir / ICEBERG_JAR
    if not iceberg.is_file():
        raise MissingJarError(
            f"{iceberg} is missing: run scripts/fetch-jars.sh (Maven) to fetch "
            "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.7.1 into .cache/jars/"
        )
    return [str(iceberg)] + [str(jars_dir / j) for j in OPTIONAL_JARS if (jars_dir / j).is_file()]


def driver_java_options() -> list[str]:
    """Extra options for the local driver JVM, from LAKEHOUSE_DRIVER_JAVA_OPTIONS (space-separated).
    The tests set `-XX:TieredStopAtLevel=1`: their JVMs live for seconds on tiny data, where the C2
    compiler burned a third of the CPU (tests/conftest.py); runs and benchmarks keep the JVM's default."""
    return os.environ.get("LAKEHOUSE_DRIVER_JAVA_OPTIONS", "").split()


def _warehouse_uri(warehouse_dir: str | os.PathLike) -> str:
    text = str(warehouse_dir)
    if "://" in text:
        return text
    path = Path(text).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path.as_uri()


def local_spark_session(
    warehouse_dir: str | os.PathLike,
    app_name: str = "glue-lakehouse",
    shuffle_partitions: int = 4,
    extra_conf: Mapping[str, str] | None = None,
):
    """A local SparkSession whose Iceberg Hadoop catalog `local` is rooted at `warehouse_dir`.

    One JVM serves one SparkContext: when a session already exists for another warehouse,
    a new session sharing the context is returned (catalogs are per session), so tests and
    the runner can use several warehouses in one process.
    """
    from pyspark.sql import SparkSession

    warehouse = _warehouse_uri(warehouse_dir)
    key = f"spark.sql.catalog.{LOCAL_CATALOG}.warehouse"
    existing = SparkSession.getActiveSession() or SparkSession._instantiatedSession
    if existing is not None and existing.sparkContext._jsc is not None:
        if existing.conf.get(f"spark.sql.catalog.{LOCAL_CATALOG}", None) is None:
            raise RuntimeError(
                "a SparkSession without the Iceberg catalog 'local' is already running in this "
                "process; stop it first or build every session with lakelib.runtime.session.local_spark_session"
            )
        if existing.conf.get(key, None) == warehouse:
            return existing
        session = existing.newSession()
        session.conf.set(key, warehouse)
        return session

    builder = (
        SparkSession.builder.master(os.environ.get("LAKEHOUSE_SPARK_MASTER", "local[2]"))
        .appName(app_name)
        .config("spark.jars", ",".join(local_jars()))
        .config("spark.sql.extensions", ICEBERG_EXTENSIONS)
        .config(f"spark.sql.catalog.{LOCAL_CATALOG}", "org.apache.iceberg.spark.SparkCatalog")
        .config(f"spark.sql.catalog.{LOCAL_CATALOG}.type", "hadoop")
        .config(key, warehouse)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", str(shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.codegen.cache.maxEntries", str(CODEGEN_CACHE_ENTRIES))
        # Iceberg's Arrow-vectorized Parquet reads crashed this JVM reading raw-JSON tables
        # (see lakelib.io.tables.Lake._reader); off for every local read, tests and runner included
        .config("spark.sql.iceberg.vectorization.enabled", "false")
        .config("spark.driver.memory", os.environ.get("LAKEHOUSE_DRIVER_MEMORY", "2g"))
        .config("spark.driver.extraJavaOptions", " ".join(["-Duser.timezone=UTC", *driver_java_options()]))
    )
    for k, v in {**JOB_SQL_CONF, **(extra_conf or {})}.items():
        builder = builder.config(k, v)
    session = _get_or_create(builder, JVM_RELAUNCH_DELAY_S)
    session.sparkContext.setLogLevel("WARN")
    import_pyspark_classes(session.sparkContext)
    return session


@contextlib.contextmanager
def glue_job_session(argv: Sequence[str], spec) -> Iterator[tuple[object, dict[str, str]]]:
    """On Glue: resolve arguments with getResolvedOptions, build GlueContext and Job,
    yield (spark, args) and commit the job only when the body succeeded."""
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from pyspark.context import SparkContext

    from .args import parse_argv

    args = parse_argv(argv, spec, extra_required=("JOB_NAME",))
    sc = SparkContext.getOrCreate()
    import_pyspark_classes(sc)
    glue_context = GlueContext(sc)
    spark = glue_context.spark_session
    for k, v in JOB_SQL_CONF.items():
        spark.conf.set(k, v)
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    yield spark, args
    job.commit()


@contextlib.contextmanager
def job_session(argv: Sequence[str], spec) -> Iterator[tuple[object, dict[str, str]]]:
    """What a script's main() uses: the Glue branch when awsglue is importable, otherwise a
    local session whose warehouse is `--warehouse` (or $LAKEHOUSE_WAREHOUSE)."""
    if awsglue_available():
        with glue_job_session(argv, spec) as pair:
            yield pair
        return
    from .args import JobArgumentError, parse_argv

    args = parse_argv(argv, spec)
    warehouse = args.get("warehouse") or os.environ.get("LAKEHOUSE_WAREHOUSE")
    if not warehouse:
        raise JobArgumentError(["--warehouse: missing (local runs need the Iceberg warehouse folder, "
                                "or set LAKEHOUSE_WAREHOUSE)"])
    yield local_spark_session(warehouse), args


def run_entrypoint(run, spec, argv: Sequence[str] | None = None) -> None:
    """The whole main() of a Glue entrypoint: parse `argv` (default sys.argv) against `spec`,
    build the session (Glue or local), call `run(spark, args)` and print its metrics as JSON;
    on Glue the job is committed only when run succeeded."""
    with job_session(sys.argv if argv is None else argv, spec) as (spark, args):
        print(json.dumps(run(spark, args), sort_keys=True, default=str))


def entrypoint(namespace: Mapping[str, object]) -> Callable[[Sequence[str] | None], None]:
    """The main() of an entry script: run_entrypoint with the script's module-level `run` and
    `ARGS`, looked up in its namespace (`globals()`) when main is called, so a test or tool that
    swaps the module's `run` is honoured."""
    def main(argv: Sequence[str] | None = None) -> None:
        run_entrypoint(namespace["run"], namespace["ARGS"], argv)
    return main
