"""The table-maintenance job every pipeline with Iceberg tables gets (lakehouse.model.pipelines
`maintenance_job`): synthesized, not declared; its dependencies, writes, arguments, workflow trigger,
settings, tags and IAM come from the same code as every other job's."""

from __future__ import annotations

import pytest

import lakehouse.model.pipelines as pipelines_mod
from lakehouse.model.config import load_stack_config
from lakehouse.model.errors import ConfigError
from lakehouse.model.iam import JobGrant, job_log_groups, job_role_policy
from lakehouse.model.names import AwsContext
from lakehouse.model.pipelines import (
    DECLARED_WRITES_TAG,
    MAINTENANCE_JOB,
    MAINTENANCE_SCRIPT,
    declared_write_tags,
    load_pipeline,
    parse_pipeline,
)
from lakehouse.model.workflow_plan import trigger_plan
from lakehouse.model.zones import LAKE_ZONES

CTX = AwsContext("123456789012", "eu-west-1", "aws", "amazonaws.com")


def lake_tables(pipeline) -> set[str]:
    return {f"{a.zone}.{t}" for j in pipeline.jobs if not j.is_maintenance for a in j.writes
            if a.zone in LAKE_ZONES for t in a.tables}


@pytest.mark.parametrize("name", ["fhir", "climate"])
def test_every_shipped_pipeline_gets_one_maintenance_job_after_its_last_jobs_writing_all_its_tables(name):
    p = load_pipeline(name)
    maintenance = [j for j in p.jobs if j.is_maintenance]
    assert len(maintenance) == 1 and maintenance[0] is p.jobs[-1]
    m = maintenance[0]
    assert m.name == MAINTENANCE_JOB and m.script == MAINTENANCE_SCRIPT and m.key == f"{name}.maintain"
    assert (pipelines_mod.GLUE_SCRIPTS_DIR / m.script).is_file()
    others = [j for j in p.jobs if not j.is_maintenance]
    leaves = {j.name for j in others if not any(j.name in o.depends_on for o in others)}
    assert set(m.depends_on) == leaves and leaves
    assert m.declared_writes() == lake_tables(p)  # every Iceberg table; no PostgreSQL table, no prefix
    assert not m.reads and not m.connection
    assert m.arguments["--tables"].split(",") == sorted(lake_tables(p), key=lambda t: (LAKE_ZONES.index(
        t.split(".")[0]), t))
    assert m.arguments["--snapshot_retention_hours"] == "168" and m.arguments["--orphan_file_age_hours"] == "72"
    assert p.waves()[-1] == (m,)  # alone, after everything


def test_fhir_maintenance_keeps_the_snapshots_silvers_checkpoint_names():
    assert load_pipeline("fhir").job("maintain").arguments["--checkpoints"] == "silver.fhir_checkpoints=bronze"
    assert "--checkpoints" not in load_pipeline("climate").job("maintain").arguments


@pytest.mark.parametrize("name", ["fhir", "climate"])
def test_the_workflow_starts_maintenance_once_the_last_jobs_succeeded(name):
    p = load_pipeline(name)
    m = p.job("maintain")
    triggers = [t for t in trigger_plan(p) if "maintain" in t.actions]
    assert len(triggers) == 1
    assert triggers[0].kind == "CONDITIONAL" and triggers[0].actions == ("maintain",)
    assert triggers[0].conditions == tuple(sorted(m.depends_on))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_both_stacks_deploy_it_with_job_settings_and_declared_write_tags(stack):
    cfg = load_stack_config(stack)
    for p in cfg.pipelines:
        m = p.job("maintain")
        assert m.key in cfg.job_settings  # a Glue job of the stack, sized by the stack's defaults
        tags = declared_write_tags(m)
        assert set(" ".join(tags.values()).split()) == m.declared_writes()
        assert DECLARED_WRITES_TAG in tags


def test_its_role_may_delete_objects_and_list_only_under_its_tables_prefixes():
    m = load_pipeline("fhir").job("maintain")
    buckets = {r: f"lh-{r}" for r in ("raw", "bronze", "silver", "gold", "scripts", "temp", "logs")}
    grant = JobGrant(role_name="lh-dev-fhir-maintain", reads=m.reads, writes=m.writes, buckets=buckets,
                     databases={z: f"lh_{z}" for z in LAKE_ZONES}, script_key="scripts/m.py", library_key="lib/l.zip",
                     temp_prefix="lh-dev-fhir-maintenance/", spark_ui_prefix=None,
                     log_groups=job_log_groups("/aws-glue/jobs/x", "sc", "lh-dev-fhir-maintain"),
                     key_alias="alias/lh")
    doc = job_role_policy(CTX, grant)
    write = next(s for s in doc["Statement"] if s["Sid"] == "WriteDeclaredObjects")
    assert "s3:DeleteObject" in write["Action"]  # expiry and orphan removal delete files
    want = {f"arn:aws:s3:::lh-{e.split('.')[0]}/{e.split('.')[1]}/*" for e in m.declared_writes()}
    assert set(write["Resource"]) == want
    listed = {p for s in doc["Statement"] if s["Action"] == "s3:ListBucket"
              for p in s["Condition"]["StringLike"]["s3:prefix"]}
    assert {f"{e.split('.')[1]}/*" for e in m.declared_writes()} <= listed
    assert not any(p.startswith("fhir/") for p in listed)  # nothing of the raw zone


# --- the `maintenance:` mapping --------------------------------------------------------------------

@pytest.fixture
def scripts_dir(tmp_path, monkeypatch):
    (tmp_path / "a.py").write_text("")
    monkeypatch.setattr(pipelines_mod, "GLUE_SCRIPTS_DIR", tmp_path)


def declaration(maintenance=None, writes=None, name="a"):
    job = {"name": name, "script": "a.py", "writes": writes if writes is not None else [
        {"zone": "bronze", "tables": ["b"]}, {"zone": "silver", "tables": ["ckpt"]}]}
    data = {"name": "p", "jobs": [job]}
    if maintenance is not None:
        data["maintenance"] = maintenance
    return data


def problems(data) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_pipeline(data, "p.yaml")
    return err.value.problems


def test_declared_settings_become_the_jobs_arguments(scripts_dir):
    p = parse_pipeline(declaration({"snapshot_retention_hours": 24, "orphan_file_age_hours": 96,
                                    "checkpoints": {"silver.ckpt": "bronze"}}), "p.yaml")
    assert p.job("maintain").arguments == {
        "--tables": "bronze.b,silver.ckpt", "--snapshot_retention_hours": "24", "--orphan_file_age_hours": "96",
        "--checkpoints": "silver.ckpt=bronze"}


@pytest.mark.parametrize("maintenance,problem", [
    ({"orphan_file_age_hours": 1},
     "p.yaml: maintenance.orphan_file_age_hours: got 1; allowed: a whole number of hours from 48 to 8760"),
    ({"snapshot_retention_hours": 0},
     "p.yaml: maintenance.snapshot_retention_hours: got 0; allowed: a whole number of hours from 1 to 8760"),
    ({"snapshot_retention_hours": True},
     "p.yaml: maintenance.snapshot_retention_hours: got True; allowed: a whole number of hours from 1 to 8760"),
    ({"retain": 3}, "p.yaml: maintenance.retain: got 3; allowed: one of the keys "
                    "['checkpoints', 'orphan_file_age_hours', 'snapshot_retention_hours']"),
    ({"checkpoints": {"silver.nope": "bronze"}},
     "p.yaml: maintenance.checkpoints: got 'silver.nope'; allowed: a table the pipeline writes: "
     "['bronze.b', 'silver.ckpt']"),
    ({"checkpoints": {"silver.ckpt": "raw"}},
     "p.yaml: maintenance.checkpoints.silver.ckpt: got 'raw'; allowed: bronze | silver | gold"),
    ([1], "p.yaml: maintenance: got [1]; allowed: a mapping with the keys "
          "['checkpoints', 'orphan_file_age_hours', 'snapshot_retention_hours']"),
])
def test_bad_maintenance_settings_are_named_with_the_allowed_range(scripts_dir, maintenance, problem):
    assert problems(declaration(maintenance)) == [problem]


def test_a_declared_job_may_not_take_the_maintenance_name(scripts_dir):
    assert problems(declaration(name="maintain")) == [
        "p.yaml: jobs.maintain.name: got 'maintain'; allowed: a job name other than 'maintain' (the "
        "platform adds that job: configure it under `maintenance:`)"]


def test_a_pipeline_without_iceberg_tables_gets_no_maintenance_job(scripts_dir):
    p = parse_pipeline(declaration(writes=[{"zone": "gold", "prefixes": ["exports/"]}]), "p.yaml")
    assert [j.name for j in p.jobs] == ["a"]
