"""Fault tolerance, bronze: SIGKILL a real runner process at points inside and between bronze's
Iceberg commits, run again; the warehouse must equal a clean run's (tests/fault_support.py).
And one run at a time per warehouse."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from fault_support import BRONZE_POINTS, ENV, REPO, fhir, killed_run_then_rerun_equals_a_clean_run, runner_cmd  # noqa: F401

from lakehouse.runner import cli
from lakehouse.runner.state import LOCK_FILE

pytestmark = pytest.mark.heavy(minutes=10)


@pytest.mark.parametrize("point", BRONZE_POINTS, ids=str)
def test_killed_run_then_rerun_equals_a_clean_run(fhir, point, tmp_path):  # noqa: F811  (fixture)
    killed_run_then_rerun_equals_a_clean_run(fhir, point, tmp_path)


def test_a_second_run_on_an_active_warehouse_is_refused(fhir, tmp_path):  # noqa: F811  (fixture)
    wh = tmp_path / "wh"
    first = subprocess.Popen(runner_cmd(fhir["input"], wh), cwd=REPO, env={**os.environ, **ENV},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        lock = wh / LOCK_FILE
        deadline = time.monotonic() + 120
        while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lock.exists() and first.poll() is None
        second = subprocess.run(runner_cmd(fhir["input"], wh), cwd=REPO, env={**os.environ, **ENV},
                                capture_output=True, text=True, timeout=120)
        assert first.poll() is None  # the first run is still active
        assert second.returncode == cli.EXIT_LOCKED
        assert f"warehouse {wh} is in use by another run (pid {first.pid}, lock {lock})" in second.stderr
        assert lock.read_text().split()[0] == str(first.pid)  # the refused run did not touch the lock
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()


