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


def test_on_glue_the_job_session_gets_every_job_sql_setting_and_commits(monkeypatch, capsys):
    """The Glue branch (awsglue importable; faked here: no Glue runtime in this environment)
    sets lakelib.session.JOB_SQL_CONF at runtime, as local sessions get it at build time."""
    import sys
    import types

    import pyspark.context

    events, conf = [], {}
    spark = types.SimpleNamespace(conf=types.SimpleNamespace(set=lambda k, v: conf.__setitem__(k, v)))

    class GlueContext:
        def __init__(self, sc):
            assert sc == "SC"
            self.spark_session = spark

    class Job:
        def __init__(self, glue_context):
            pass

        def init(self, name, args):
            events.append(("init", name))

        def commit(self):
            events.append(("commit",))

    def get_resolved_options(argv, names):
        return {n: argv[argv.index(f"--{n}") + 1] for n in names}

    fakes = {"awsglue": types.ModuleType("awsglue"), "awsglue.context": types.ModuleType("awsglue.context"),
             "awsglue.job": types.ModuleType("awsglue.job"), "awsglue.utils": types.ModuleType("awsglue.utils")}
    fakes["awsglue.context"].GlueContext = GlueContext
    fakes["awsglue.job"].Job = Job
    fakes["awsglue.utils"].getResolvedOptions = get_resolved_options
    for name, module in fakes.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(pyspark.context.SparkContext, "getOrCreate", staticmethod(lambda: "SC"))

    def run(spark_session, args):
        events.append(("run", dict(conf)))
        return {"input": 0, "accepted": 0, "quarantined": 0}

    session.run_entrypoint(run, ArgSpec(required=("catalog",)),
                           ["script.py", "--JOB_NAME", "fhir-bronze", "--catalog", "glue_catalog"])
    assert events == [("init", "fhir-bronze"), ("run", session.JOB_SQL_CONF), ("commit",)]
    assert session.JOB_SQL_CONF["spark.sql.session.timeZone"] == "UTC"


def test_a_local_session_has_every_job_sql_setting(spark):
    assert {k: spark.conf.get(k) for k in session.JOB_SQL_CONF} == session.JOB_SQL_CONF
