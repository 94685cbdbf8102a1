"""Fault tolerance, climate: SIGKILL the climate pipeline at points inside its PostgreSQL loads and
Iceberg commits, run again; PostgreSQL and the warehouse must equal a clean run's (tests/fault_support.py)."""

from __future__ import annotations

import signal

import pytest
from fault_support import CLIMATE_POINTS, ENV, REPO, climate, climate_cmd, climate_state, pg, reset_pg  # noqa: F401

from lakehouse.runner import crash

pytestmark = pytest.mark.heavy(minutes=8)


@pytest.mark.parametrize("name,reached,before", CLIMATE_POINTS, ids=[p[0] for p in CLIMATE_POINTS])
def test_killed_climate_run_then_rerun_equals_a_clean_run(climate, pg, name, reached, before, tmp_path):  # noqa: F811
    reset_pg(pg)
    wh = tmp_path / "wh"
    killed = crash.kill_at(climate_cmd(climate["raw"], wh, pg, "killed"), lambda: reached(wh, pg),
                           tmp_path / "killed.log", env=ENV, cwd=REPO)
    log = killed.log.read_text(errors="replace")[-3000:]
    assert killed.reached and killed.returncode == -signal.SIGKILL, log
    assert before(wh, pg), f"the kill landed too late: {log}"
    runs = crash.run_declared_pipeline("climate", climate["raw"], wh, pg.job_arguments(), "recovery")
    assert [r.status for r in runs] == ["succeeded"] * 5, [r.error for r in runs]
    state = climate_state(wh, pg)
    assert {k: v for k, v in state["dupes"].items() if v} == {}, "duplicate rows"
    for k, v in climate["clean"].items():
        if k == "dupes":
            continue
        if k.startswith("bronze.climate_quarantine") or k.startswith("bronze.climate_corrections"):
            assert state[k] == v and set(state[k].values()) <= {1}, k
        else:
            assert state[k] == v, k
