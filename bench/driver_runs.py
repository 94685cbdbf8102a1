"""The driver's cost of one run at the tests' size (a script, not a test).

    LAKEHOUSE_DRIVER_JAVA_OPTIONS="-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m \
      -XX:SharedArchiveFile=<.cache/jvm/spark-*.jsa>" \
      .venv/bin/python bench/driver_runs.py --runs 4 [--without-single-imports]

Most of CI is small pipeline runs in long-lived JVMs (the xdist workers'), where what a run costs is
driver work: planning, Py4J calls, Iceberg metadata, not data. This runs the FHIR pipeline on one
small generated batch (lakehouse.samples.fhir, 16 patients, seed 11, as tests/jvm_archive.py) `--runs`
times in one process, each from an empty warehouse, and prints per run its wall time, the CPU the
driver JVM and this Python process used, and the classes Spark compiled for it, then the means over
the warm runs (every run but the first, which pays the JVM's warm-up). The baselines of
lakelib.runtime.session's settings: `--without-single-imports` (PYSPARK_HOT_CLASSES: py4j then
resolves PySpark's hot class names in the JVM on every access) and `--codegen-cache-entries 100`,
Spark's default (CODEGEN_CACHE_ENTRIES). Set LAKEHOUSE_DRIVER_JAVA_OPTIONS as tests/conftest.py does
(tests/jvm_archive.py's TEST_JIT and the class archive) to measure the JVM the tests run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def jvm_cpu_seconds() -> float:
    """User + system CPU of this process's driver JVM so far (Linux /proc)."""
    from pyspark import SparkContext

    fields = Path(f"/proc/{SparkContext._gateway.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def classes_compiled() -> int:
    """Classes Spark's code generation compiled (Janino) in this process's driver JVM so far."""
    from pyspark import SparkContext

    return SparkContext._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME().getCount()


def measure(runs: int, patients: int, work: Path) -> list[dict[str, float]]:
    """Run the FHIR pipeline `runs` times on one batch, each on a new warehouse under `work`."""
    from lakehouse.runner import cli
    from lakehouse.samples.fhir import write_batch
    from lakelib.runtime.session import local_spark_session

    write_batch(work / "in", patients=patients, seed=11)
    local_spark_session(work / "boot")  # the JVM starts here, not inside the first measured run
    figures = []
    for i in range(runs):
        wall, cpu, py_cpu, compiled = time.perf_counter(), jvm_cpu_seconds(), time.process_time(), classes_compiled()
        if cli.main(["run", "--input", str(work / "in"), "--warehouse", str(work / f"wh{i}")]) != 0:
            raise SystemExit(f"run {i + 1} failed: no figures")
        figures.append({"wall_s": time.perf_counter() - wall, "jvm_cpu_s": jvm_cpu_seconds() - cpu,
                        "python_cpu_s": time.process_time() - py_cpu,
                        "classes_compiled": classes_compiled() - compiled})
    return figures


def summary(figures: list[dict[str, float]]) -> dict:
    warm = figures[1:] or figures
    keys = ("wall_s", "jvm_cpu_s", "python_cpu_s", "classes_compiled")
    return {"runs": figures, "warm_mean": {k: statistics.mean(f[k] for f in warm) for k in keys}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=4, help="runs in this process; the first is the cold one")
    ap.add_argument("--patients", type=int, default=16)
    ap.add_argument("--without-single-imports", action="store_true",
                    help="leave the driver's JVM view as PySpark makes it (the baseline)")
    ap.add_argument("--codegen-cache-entries", type=int, default=None,
                    help="Spark's cache of generated classes (Spark's default is 100)")
    a = ap.parse_args(argv)
    from lakelib.runtime import session

    if a.without_single_imports:
        session.import_pyspark_classes = lambda sc: None
    if a.codegen_cache_entries is not None:
        session.CODEGEN_CACHE_ENTRIES = a.codegen_cache_entries
    with tempfile.TemporaryDirectory(prefix="driver-runs-") as tmp:
        result = summary(measure(a.runs, a.patients, Path(tmp)))
    for i, f in enumerate(result["runs"], 1):
        print(f"run {i}: {f['wall_s']:.1f} s wall, {f['jvm_cpu_s']:.1f} s driver JVM CPU, "
              f"{f['python_cpu_s']:.1f} s Python CPU, "
              f"{f['classes_compiled']} classes compiled")
    print("warm mean:", json.dumps({k: round(v, 1) for k, v in result["warm_mean"].items()}))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TZ", "UTC")
    os.environ.setdefault("LAKEHOUSE_DRIVER_MEMORY", "1g")
    sys.path[:0] = [str(REPO / "glue_scripts"), str(REPO)]
    raise SystemExit(main())
