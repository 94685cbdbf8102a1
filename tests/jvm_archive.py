"""A class-data-sharing archive for the tests' driver JVMs: `.cache/jvm/spark-<key>.jsa`.

Every test that runs the runner, a fault scenario or the bench in a fresh process starts a driver JVM
that loads the same ~13,500 Spark, Hadoop and Scala classes again (counted with -Xlog:class+load in a
16-patient run). A dynamic CDS archive (JDK 17, `-XX:ArchiveClassesAtExit` once, then
`-XX:SharedArchiveFile`) maps them instead: a 16-patient FHIR run in a fresh process went from 70.6 to
54.3 s of CPU (wall 53.7 -> 42.5 s, two runs each).

scripts/test.sh makes it before the tests (`python tests/jvm_archive.py`, about a minute and a half,
once per clone and whenever the JDK, PySpark or the jar set changes: they make the key), by running
that FHIR pipeline with `-XX:ArchiveClassesAtExit`. tests/conftest.py passes it to every driver JVM
when it exists. Results never depend on it: a JVM that cannot use an archive runs without it (the
JDK's default -Xshare:auto), and the classes the Iceberg jar brings (spark.jars, a URL class loader)
are never archived.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARCHIVE_DIR = REPO / ".cache" / "jvm"
TEST_JIT = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"  # the tests' JIT settings: see tests/conftest.py


def archive_path() -> Path:
    """Where the archive for this JDK, PySpark and jar set lives (it may not exist yet)."""
    import pyspark

    from lakelib.runtime.session import JARS_DIR

    java = Path(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
    version = subprocess.run([str(java), "-version"], capture_output=True, text=True).stderr
    key = "\n".join([version, pyspark.__version__, *sorted(p.name for p in JARS_DIR.glob("*.jar"))])
    return ARCHIVE_DIR / f"spark-{hashlib.sha256(key.encode()).hexdigest()[:12]}.jsa"


def make_archive(target: Path) -> None:
    """Run the FHIR pipeline on 16 patients in this process's own driver JVM, then stop that JVM
    and wait while it writes the classes it loaded to `target`."""
    from pyspark import SparkContext

    from lakehouse.runner import cli
    from lakehouse.samples.fhir import write_batch

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    os.environ["TZ"] = "UTC"
    os.environ["LAKEHOUSE_DRIVER_MEMORY"] = "1g"
    os.environ["LAKEHOUSE_DRIVER_JAVA_OPTIONS"] = f"{TEST_JIT} -XX:ArchiveClassesAtExit={partial}"
    with tempfile.TemporaryDirectory(prefix="jvm-archive-") as tmp:
        write_batch(Path(tmp) / "in", patients=16, seed=11)
        if cli.main(["run", "--input", f"{tmp}/in", "--warehouse", f"{tmp}/wh"]) != 0:
            raise SystemExit("the FHIR run that loads the classes failed: no archive made")
        gateway = SparkContext._gateway.proc  # the spark-submit process that is the driver JVM
        SparkContext.getOrCreate().stop()
        gateway.stdin.close()  # PySpark's gateway exits when its stdin closes; the archive is written then
        if gateway.wait(timeout=600) != 0 or not partial.is_file():
            raise SystemExit(f"the driver JVM exited with {gateway.returncode} and wrote no archive at {partial}")
    partial.rename(target)


def main() -> int:
    target = archive_path()
    if target.is_file():
        print(f"JVM class archive: {target} (already made)")
        return 0
    for stale in ARCHIVE_DIR.glob("spark-*.jsa"):
        stale.unlink()
    make_archive(target)
    print(f"JVM class archive: {target} ({target.stat().st_size / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":  # under pytest, tests/conftest.py has put glue_scripts on the path already
    sys.path[:0] = [str(REPO / "glue_scripts"), str(REPO)]
    raise SystemExit(main())
