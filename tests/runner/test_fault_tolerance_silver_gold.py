"""Fault tolerance, silver and gold: SIGKILL a real runner process at points inside and between their
Iceberg commits, run again; the warehouse must equal a clean run's (tests/fault_support.py)."""

from __future__ import annotations

import json
import signal

import pytest
from fault_support import ENV, REPO, SILVER_GOLD_POINTS, assert_recovered, fhir, fhir_state, runner_cmd  # noqa: F401

from lakehouse.runner import cli, crash
from lakehouse.runner.state import LOCK_FILE

pytestmark = pytest.mark.heavy(minutes=12)


@pytest.mark.parametrize("point", SILVER_GOLD_POINTS, ids=str)
def test_killed_run_then_rerun_equals_a_clean_run(fhir, point, tmp_path):  # noqa: F811  (fixture)
    wh = tmp_path / "wh"
    killed = crash.kill_at(runner_cmd(fhir["input"], wh), lambda: point.reached(wh), tmp_path / "killed.log",
                           env=ENV, cwd=REPO)
    log = killed.log.read_text(errors="replace")[-3000:]
    assert killed.reached and killed.returncode == -signal.SIGKILL, log
    assert point.before(wh), f"the kill landed after the next commit: {log}"
    assert (wh / LOCK_FILE).exists()  # the dead run's lock is left behind ...
    assert cli.main(["run", "--input", str(fhir["input"]), "--warehouse", str(wh)]) == 0  # ... and taken over
    report = json.loads((wh / "_runs" / "latest.json").read_text())
    assert report["status"] == "succeeded"
    assert_recovered(fhir_state(wh), fhir["clean"])


