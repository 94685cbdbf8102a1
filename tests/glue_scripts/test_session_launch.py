"""A driver JVM that exits at start is launched once more, then fails naming what the machine had free.

Run in a subprocess whose JAVA_HOME points nowhere, so spark-submit really exits before the gateway
starts (the failure PySpark reports as JAVA_GATEWAY_EXITED); the test's own shared JVM is untouched.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
    assert wanted == ["-XX:TieredStopAtLevel=1"]  # tests/conftest.py's default
    jvm_args = list(spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert "-Duser.timezone=UTC" in jvm_args
    assert set(wanted) <= set(jvm_args), jvm_args
