"""Every Glue entrypoint keeps the contract: module-level ARGS, run(spark, args) and a main()
that is lakelib.runtime.session.run_entrypoint (session from the arguments, run, metrics printed as
JSON), in a script under 20 lines; and the library keeps its layout (runtime, io, one package per
pipeline), its run record (run id, "writes", reconciliation) and its independence from Pulumi."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path

import pytest

import lakelib.runtime.session as session
from lakelib.runtime.args import ArgSpec, JobArgumentError
from lakelib.runtime.job import JobRun, ReconciliationError, Writes

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINTS = sorted(p.relative_to(REPO / "glue_scripts").as_posix()
                     for p in (REPO / "glue_scripts").glob("*/*.py") if p.parent.name != "lakelib")


def _load(script: str):
    spec = importlib.util.spec_from_file_location("entry_" + script.replace("/", "_")[:-3],
                                                  REPO / "glue_scripts" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_entrypoints_are_the_eight_declared_scripts_and_table_maintenance():
    assert ENTRYPOINTS == ["climate/calculate_derived_metrics.py", "climate/process_climate_data.py",
                           "climate/process_health_data.py", "climate/process_hospital_data.py",
                           "climate/process_locations.py", "fhir/bronze.py", "fhir/gold.py", "fhir/silver.py",
                           "maintenance/maintain_tables.py", "orders/extract.py", "orders/load.py",
                           "orders/transform.py"]


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


@pytest.mark.parametrize("script", ENTRYPOINTS)
def test_an_entrypoint_is_under_20_lines_and_gets_main_from_the_library(script):
    text = (REPO / "glue_scripts" / script).read_text()
    assert len(text.splitlines()) < 20, script
    assert "main = entrypoint(globals())" in text and "ARGS, run = jobs." in text, script


def test_main_without_a_warehouse_names_the_missing_argument(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_WAREHOUSE", raising=False)
    module = _load("fhir/bronze.py")
    with pytest.raises(JobArgumentError, match="--warehouse: missing"):
        module.main(["script.py", "--catalog", "local"])


def test_on_glue_the_job_session_gets_every_job_sql_setting_and_commits(monkeypatch, capsys):
    """The Glue branch (awsglue importable; faked here: no Glue runtime in this environment)
    sets lakelib.runtime.session.JOB_SQL_CONF at runtime, as local sessions get it at build time, and
    gives the Glue SparkContext's JVM view the same single imports as a local session's."""
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
    monkeypatch.setattr(session, "import_pyspark_classes", lambda sc: events.append(("single imports", sc)))

    def run(spark_session, args):
        events.append(("run", dict(conf)))
        return {"input": 0, "accepted": 0, "quarantined": 0}

    session.run_entrypoint(run, ArgSpec(required=("catalog",)),
                           ["script.py", "--JOB_NAME", "fhir-bronze", "--catalog", "glue_catalog"])
    assert events == [("single imports", "SC"), ("init", "fhir-bronze"), ("run", session.JOB_SQL_CONF), ("commit",)]
    assert session.JOB_SQL_CONF["spark.sql.session.timeZone"] == "UTC"


def test_a_local_session_has_every_job_sql_setting(spark):
    assert {k: spark.conf.get(k) for k in session.JOB_SQL_CONF} == session.JOB_SQL_CONF


# --- the library's layout and run record ------------------------------------------------------

LAKELIB = REPO / "glue_scripts" / "lakelib"


def test_the_library_root_holds_only_its_packages():
    assert sorted(p.name for p in LAKELIB.iterdir() if p.name != "__pycache__") == [
        "__init__.py", "climate", "fhir", "io", "maintenance", "orders", "runtime"]
    for pipeline in ("fhir", "climate", "orders"):
        names = {p.name for p in (LAKELIB / pipeline).glob("*.py")}
        assert {"__init__.py", "schemas.py", "rules.py", "jobs.py"} <= names, pipeline


def test_nothing_under_glue_scripts_imports_pulumi_the_lakehouse_package_or_components():
    for path in sorted((REPO / "glue_scripts").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in {"pulumi", "pulumi_aws", "lakehouse", "components"}, (path, name)


def test_writes_name_the_zone_of_each_database_and_base_uri():
    writes = Writes({"bronze_database": "lake_bronze", "gold_database": "lake_gold",
                     "gold_path": "file:///wh/lake_gold", "catalog": "local"})
    writes.table("lake_bronze", "fhir_patient")
    writes.table("lake_bronze", "fhir_patient")
    writes.table("lake_gold", "cms_facility_monthly")
    writes.table("elsewhere", "t")  # a database no --<zone>_database names keeps its own name
    writes.postgres("locations")
    writes.prefix("file:///wh/lake_gold/", "climate/extracts/")
    assert writes.sorted() == ["bronze.fhir_patient", "elsewhere.t", "gold.cms_facility_monthly",
                               "gold:climate/extracts/", "postgres.locations"]


def test_a_job_run_has_one_run_id_rule_and_reconciles_before_it_reports_its_writes():
    spec = ArgSpec(required=("catalog",), optional={"run_id": None, "JOB_RUN_ID": None, "silver_database": None})
    assert JobRun.start("j", {"--catalog": "local", "--run_id": "r1", "--JOB_RUN_ID": "jr_1"}, spec).run_id == "r1"
    assert JobRun.start("j", {"--catalog": "local", "--JOB_RUN_ID": "jr_1"}, spec).run_id == "jr_1"
    assert JobRun.start("j", {"--catalog": "local"}, spec).run_id.startswith("local-")
    run = JobRun.start("j", {"--catalog": "local", "--silver_database": "s"}, spec)
    run.writes.table("s", "patients")
    assert run.finish({"input": 3, "accepted": 2, "quarantined": 1}) == {
        "input": 3, "accepted": 2, "quarantined": 1, "writes": ["silver.patients"]}
    with pytest.raises(ReconciliationError, match="j: input 3 != accepted 2 \\+ quarantined 0"):
        run.finish({"input": 3, "accepted": 2, "quarantined": 0})
