"""Every Glue entrypoint keeps the contract: module-level ARGS, run(spark, args) and a main()
that is lakelib.session.run_entrypoint (session from the arguments, run, metrics printed as JSON)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import lakelib.session as session
from lakelib.args import ArgSpec, JobArgumentError

REPO = Path(__file__).resolve().parents[1]
ENTRYPOINTS = sorted(p.relative_to(REPO / "glue_scripts").as_posix()
                     for p in (REPO / "glue_scripts").glob("*/*.py") if p.parent.name != "lakelib")


def _load(script: str):
    spec = importlib.util.spec_from_file_location("entry_" + script.replace("/", "_")[:-3],
                                                  REPO / "glue_scripts" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_entrypoints_are_the_eight_declared_scripts():
    assert ENTRYPOINTS == ["climate/calculate_derived_metrics.py", "climate/process_climate_data.py",
                           "climate/process_health_data.py", "climate/process_hospital_data.py",
                           "climate/process_locations.py", "fhir/bronze.py", "fhir/gold.py", "fhir/silver.py"]


@pytest.mark.parametrize("script", ENTRYPOINTS)
def test_main_runs_run_on_the_local_session_and_prints_its_metrics(script, monkeypatch, capsys, tmp_path):
    module = _load(script)
    assert isinstance(module.ARGS, ArgSpec) and callable(module.run)
    sessions, calls = [], []
    monkeypatch.setattr(session, "local_spark_session", lambda wh: sessions.append(wh) or "SPARK")
    monkeypatch.setattr(module, "run", lambda spark, args: calls.append((spark, args)) or
                        {"input": 3, "accepted": 2, "quarantined": 1, "when": tmp_path})
    module.main(["script.py", "--warehouse", str(tmp_path), "--catalog", "local"])
    assert sessions == [str(tmp_path)]
    assert calls == [("SPARK", {"warehouse": str(tmp_path), "catalog": "local"})]
    assert json.loads(capsys.readouterr().out) == {"accepted": 2, "input": 3, "quarantined": 1,
                                                   "when": str(tmp_path)}


def test_main_without_a_warehouse_names_the_missing_argument(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_WAREHOUSE", raising=False)
    module = _load("fhir/bronze.py")
    with pytest.raises(JobArgumentError, match="--warehouse: missing"):
        module.main(["script.py", "--catalog", "local"])
