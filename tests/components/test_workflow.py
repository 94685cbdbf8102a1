"""GlueWorkflow under mocks: the exact triggers for seed 001's chain and seed 002's graph,
the start modes, and DAG validation errors."""

from __future__ import annotations

import json

import pytest
from policy_support import policy_violations

import lakehouse.model.pipelines as pipelines
from components.glue_workflow import (
    GlueWorkflow,
    GlueWorkflowArgs,
    enable_raw_eventbridge,
    object_created_pattern,
    raw_prefixes,
)
from lakehouse.model.config import WorkflowSettings, load_stack_config, stack_file_values
from lakehouse.model.errors import ConfigError
from lakehouse.model.iam import eventbridge_trust_policy, notify_workflow_policy
from lakehouse.model.pipelines import Access, JobSpec, PipelineSpec, dag_problems, parse_pipeline
from lakehouse.offline import ACCOUNT, evaluate_stack, run_program
from lakehouse.offline import DEFAULT_REGION as REGION

TRIGGER = "aws:glue/trigger:Trigger"
WORKFLOW = "aws:glue/workflow:Workflow"
TAGS = {"Environment": "dev", "Project": "glue-lakehouse"}


def settings(mode: str = "ON_DEMAND", **kw) -> WorkflowSettings:
    base = dict(start_mode=mode, schedule="cron(0 2 * * ? *)", event_batch_size=10,
                event_batch_window_seconds=900, max_concurrent_runs=1)
    base.update(kw)
    return WorkflowSettings(**base)


def job(pipeline: str, name: str, *deps: str, **kw) -> JobSpec:
    return JobSpec(pipeline=pipeline, name=name, script=f"{pipeline}/{name}.py", depends_on=tuple(deps), **kw)


# Seed 001: the MetricCare chain bronze -> silver -> gold.
SEED_001 = PipelineSpec(name="fhir", description="FHIR to CMS metrics", jobs=(
    job("fhir", "bronze", reads=(Access("raw", prefixes=("fhir/",)),)),
    job("fhir", "silver", "bronze"),
    job("fhir", "gold", "silver"),
))

# Seed 002: process_locations fans out to three jobs; calculate_derived_metrics waits on all three.
SEED_002 = PipelineSpec(name="climate", description="Climate-resilient healthcare", jobs=(
    job("climate", "process_locations"),
    job("climate", "process_climate_data", "process_locations"),
    job("climate", "process_health_data", "process_locations"),
    job("climate", "process_hospital_data", "process_locations"),
    job("climate", "calculate_derived_metrics", "process_climate_data", "process_health_data", "process_hospital_data"),
))


def glue_name(pipeline: PipelineSpec, job_name: str) -> str:
    return f"lakehouse-dev-{pipeline.name}-{job_name}".replace("_", "-")


def build(pipeline: PipelineSpec, wf_settings: WorkflowSettings, **kw):
    def program():
        wf = GlueWorkflow(f"{pipeline.name}-workflow", GlueWorkflowArgs(
            pipeline=pipeline,
            workflow_name=f"lakehouse-dev-{pipeline.name}",
            job_names={j.name: glue_name(pipeline, j.name) for j in pipeline.jobs},
            settings=wf_settings,
            tags=TAGS,
            **kw,
        ))
        return {"name": wf.name, "arn": wf.arn, "trigger_names": wf.trigger_names}
    return run_program(program)


def condition(glue_job: str) -> dict:
    return {"jobName": glue_job, "state": "SUCCEEDED", "logicalOperator": "EQUALS"}


def without_tags(inputs: dict) -> dict:
    assert inputs["tags"] == TAGS
    return {k: v for k, v in inputs.items() if k != "tags"}


# --- seed 001: linear chain ------------------------------------------------------------

def test_seed_001_chain_becomes_a_start_trigger_and_one_conditional_trigger_per_step():
    ev = build(SEED_001, settings())
    n = lambda j: glue_name(SEED_001, j)  # noqa: E731
    start = ev.get(TRIGGER, "fhir-workflow-start")
    after_bronze = ev.get(TRIGGER, "fhir-workflow-after-bronze")
    after_silver = ev.get(TRIGGER, "fhir-workflow-after-silver")
    assert len(ev.of_type(TRIGGER)) == 3
    assert without_tags(start.inputs) == {
        "name": "lakehouse-dev-fhir-start", "workflowName": "lakehouse-dev-fhir", "type": "ON_DEMAND",
        "enabled": False, "startOnCreation": False, "actions": [{"jobName": n("bronze")}],
    }
    assert without_tags(after_bronze.inputs) == {
        "name": "lakehouse-dev-fhir-after-bronze", "workflowName": "lakehouse-dev-fhir", "type": "CONDITIONAL",
        "enabled": True, "startOnCreation": True, "actions": [{"jobName": n("silver")}],
        "predicate": {"logical": "AND", "conditions": [condition(n("bronze"))]},
    }
    assert without_tags(after_silver.inputs) == {
        "name": "lakehouse-dev-fhir-after-silver", "workflowName": "lakehouse-dev-fhir", "type": "CONDITIONAL",
        "enabled": True, "startOnCreation": True, "actions": [{"jobName": n("gold")}],
        "predicate": {"logical": "AND", "conditions": [condition(n("silver"))]},
    }
    assert ev.outputs["trigger_names"] == [
        "lakehouse-dev-fhir-start", "lakehouse-dev-fhir-after-bronze", "lakehouse-dev-fhir-after-silver"]


def test_triggers_of_one_workflow_are_created_one_after_another():
    ev = build(SEED_001, settings())
    wf = ev.get(WORKFLOW, "fhir-workflow")
    start = ev.get(TRIGGER, "fhir-workflow-start")
    after_bronze = ev.get(TRIGGER, "fhir-workflow-after-bronze")
    after_silver = ev.get(TRIGGER, "fhir-workflow-after-silver")
    assert start.explicit_dependencies == set()
    assert after_bronze.explicit_dependencies == {start.urn}
    assert after_silver.explicit_dependencies == {after_bronze.urn}
    for t in (start, after_bronze, after_silver):
        assert wf.urn in t.property_dependencies["workflowName"]  # workflow_name comes from the workflow resource
        assert t.parent.endswith("::fhir-workflow")  # every child parented to the component


def test_workflow_has_max_concurrent_runs_default_run_properties_and_outputs():
    ev = build(SEED_001, settings(max_concurrent_runs=3), run_properties={"environment": "dev"})
    wf = ev.get(WORKFLOW, "fhir-workflow")
    assert without_tags(wf.inputs) == {
        "name": "lakehouse-dev-fhir", "description": "FHIR to CMS metrics", "maxConcurrentRuns": 3,
        "defaultRunProperties": {"pipeline": "fhir", "environment": "dev"},
    }
    assert ev.outputs["name"] == "lakehouse-dev-fhir"
    assert ev.outputs["arn"] == f"arn:aws:glue:{REGION}:{ACCOUNT}:workflow/lakehouse-dev-fhir"


# --- seed 002: fan-out and fan-in --------------------------------------------------------

def test_seed_002_graph_fans_out_with_one_trigger_and_fans_in_with_an_and_of_three():
    ev = build(SEED_002, settings())
    n = lambda j: glue_name(SEED_002, j)  # noqa: E731
    triggers = {r.name: r for r in ev.of_type(TRIGGER)}
    fan_in_suffix = "after-process-climate-data-process-health-data-process-hospital-data"
    assert set(triggers) == {"climate-workflow-start", "climate-workflow-after-process-locations",
                             f"climate-workflow-{fan_in_suffix}"}
    start = triggers["climate-workflow-start"]
    fan_out = triggers["climate-workflow-after-process-locations"]
    fan_in = triggers[f"climate-workflow-{fan_in_suffix}"]
    assert without_tags(start.inputs) == {
        "name": "lakehouse-dev-climate-start", "workflowName": "lakehouse-dev-climate", "type": "ON_DEMAND",
        "enabled": False, "startOnCreation": False, "actions": [{"jobName": n("process_locations")}],
    }
    assert without_tags(fan_out.inputs) == {
        "name": "lakehouse-dev-climate-after-process-locations", "workflowName": "lakehouse-dev-climate",
        "type": "CONDITIONAL", "enabled": True, "startOnCreation": True,
        "actions": [{"jobName": n("process_climate_data")}, {"jobName": n("process_health_data")},
                    {"jobName": n("process_hospital_data")}],
        "predicate": {"logical": "AND", "conditions": [condition(n("process_locations"))]},
    }
    assert without_tags(fan_in.inputs) == {
        "name": f"lakehouse-dev-climate-{fan_in_suffix}", "workflowName": "lakehouse-dev-climate",
        "type": "CONDITIONAL", "enabled": True, "startOnCreation": True,
        "actions": [{"jobName": n("calculate_derived_metrics")}],
        "predicate": {"logical": "AND", "conditions": [
            condition(n("process_climate_data")), condition(n("process_health_data")),
            condition(n("process_hospital_data"))]},
    }
    assert start.explicit_dependencies == set()
    assert fan_out.explicit_dependencies == {start.urn}
    assert fan_in.explicit_dependencies == {fan_out.urn}


def test_no_trigger_has_a_job_both_as_predicate_and_action():
    for pipeline in (SEED_001, SEED_002):
        ev = build(pipeline, settings())
        for t in ev.of_type(TRIGGER):
            actions = {a["jobName"] for a in t.inputs["actions"]}
            waited = {c["jobName"] for c in t.inputs.get("predicate", {}).get("conditions", [])}
            assert actions and not actions & waited, t.name


# --- start modes ---------------------------------------------------------------------------

def test_scheduled_start_trigger_runs_on_the_configured_cron_and_is_activated():
    ev = build(SEED_001, settings("SCHEDULED", schedule="cron(0 2 * * ? *)"))
    start = ev.get(TRIGGER, "fhir-workflow-start")
    assert without_tags(start.inputs) == {
        "name": "lakehouse-dev-fhir-start", "workflowName": "lakehouse-dev-fhir", "type": "SCHEDULED",
        "schedule": "cron(0 2 * * ? *)", "enabled": True, "startOnCreation": True,
        "actions": [{"jobName": glue_name(SEED_001, "bronze")}],
    }
    assert not ev.of_type("aws:cloudwatch/eventRule:EventRule")


def test_event_start_batches_raw_object_created_events_through_eventbridge():
    ev = build(SEED_001, settings("EVENT", event_batch_size=5, event_batch_window_seconds=300),
               raw_bucket="lakehouse-dev-raw-bucket", account_id=ACCOUNT)
    start = ev.get(TRIGGER, "fhir-workflow-start")
    assert without_tags(start.inputs) == {
        "name": "lakehouse-dev-fhir-start", "workflowName": "lakehouse-dev-fhir", "type": "EVENT",
        "enabled": False, "eventBatchingConditions": [{"batchSize": 5, "batchWindow": 300}],
        "actions": [{"jobName": glue_name(SEED_001, "bronze")}],
    }
    workflow_arn = f"arn:aws:glue:{REGION}:{ACCOUNT}:workflow/lakehouse-dev-fhir"
    rule = ev.get("aws:cloudwatch/eventRule:EventRule", "fhir-workflow-raw-created")
    assert rule.inputs["name"] == "lakehouse-dev-fhir-raw-created"
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.s3"], "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": ["lakehouse-dev-raw-bucket"]}, "object": {"key": [{"prefix": "fhir/"}]}},
    }
    target = ev.get("aws:cloudwatch/eventTarget:EventTarget", "fhir-workflow-raw-created")
    role = ev.get("aws:iam/role:Role", "fhir-workflow-events")
    assert target.inputs == {
        "rule": "lakehouse-dev-fhir-raw-created", "targetId": "glue-workflow", "arn": workflow_arn,
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/lakehouse-dev-fhir-events",
    }
    assert role.inputs["name"] == "lakehouse-dev-fhir-events"
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "EventBridgeAssume", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                       "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}],
    }
    policy = ev.get("aws:iam/rolePolicy:RolePolicy", "fhir-workflow-events-notify")
    assert policy.inputs["role"] == role.id == "lakehouse-dev-fhir-events"  # a role's id is its name
    assert json.loads(policy.inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "NotifyWorkflow", "Effect": "Allow", "Action": "glue:notifyEvent",
                       "Resource": workflow_arn}],
    }


def test_event_mode_without_raw_bucket_is_a_clear_error():
    with pytest.raises(ConfigError,
                       match=r"raw_bucket/account_id: got None; allowed: the raw bucket and the account id"):
        build(SEED_001, settings("EVENT"))


def test_raw_bucket_eventbridge_notifications_are_enabled_once():
    ev = run_program(lambda: {"n": enable_raw_eventbridge("raw-eventbridge", "lakehouse-dev-raw-bucket").id})
    note = ev.get("aws:s3/bucketNotification:BucketNotification", "raw-eventbridge")
    assert note.inputs == {"bucket": "lakehouse-dev-raw-bucket", "eventbridge": True}


def test_object_created_pattern_matches_every_key_when_the_pipeline_reads_no_raw_prefix():
    assert raw_prefixes(SEED_002) == ()
    assert object_created_pattern("b", ()) == {
        "source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": ["b"]}}}
    assert raw_prefixes(SEED_001) == ("fhir/",)


def test_eventbridge_documents_name_exactly_one_account_and_one_workflow():
    assert eventbridge_trust_policy("111122223333")["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "111122223333"}}
    assert notify_workflow_policy("arn:aws:glue:eu-west-1:111122223333:workflow/w")["Statement"] == [{
        "Sid": "NotifyWorkflow", "Effect": "Allow", "Action": "glue:notifyEvent",
        "Resource": "arn:aws:glue:eu-west-1:111122223333:workflow/w"}]


def test_missing_glue_job_name_is_a_clear_error():
    def program():
        GlueWorkflow("w", GlueWorkflowArgs(pipeline=SEED_001, workflow_name="lakehouse-dev-fhir",
                                           job_names={"bronze": "b"}, settings=settings(), tags=TAGS))
    with pytest.raises(ConfigError,
                       match=r"a Glue job name for every job of pipeline 'fhir', missing \['gold', 'silver'\]"):
        run_program(program)


# --- DAG validation (config layer) ------------------------------------------------------

@pytest.fixture
def scripts(tmp_path, monkeypatch):
    """parse_pipeline checks that scripts exist: point it at a folder holding them."""
    monkeypatch.setattr(pipelines, "GLUE_SCRIPTS_DIR", tmp_path)
    (tmp_path / "p").mkdir()
    for name in ("a", "b", "c", "d"):
        (tmp_path / "p" / f"{name}.py").write_text("")
    return tmp_path


def declaration(*jobs: dict) -> dict:
    return {"name": "p", "description": "test", "jobs": [{"script": f"p/{j['name']}.py", **j} for j in jobs]}


def problems_of(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as e:
        parse_pipeline(data, "pipelines/p.yaml")
    return e.value.problems


def test_a_valid_dag_parses(scripts):
    p = parse_pipeline(declaration({"name": "a"}, {"name": "b", "depends_on": ["a"]}), "pipelines/p.yaml")
    assert [j.name for j in p.topological_order()] == ["a", "b"]


def test_a_cycle_is_named_hop_by_hop(scripts):
    assert problems_of(declaration(
        {"name": "a"}, {"name": "b", "depends_on": ["a", "d"]}, {"name": "c", "depends_on": ["b"]},
        {"name": "d", "depends_on": ["c"]},
    )) == ["pipelines/p.yaml: jobs.b.depends_on: got 'b -> d -> c -> b'; allowed: an acyclic graph "
           "(a job may not wait on itself through others)"]


def test_an_unknown_job_lists_the_pipelines_jobs(scripts):
    assert problems_of(declaration({"name": "a"}, {"name": "b", "depends_on": ["x"]})) == [
        "pipelines/p.yaml: jobs.b.depends_on: got 'x'; allowed: jobs of pipeline 'p': ['a', 'b']"]


def test_a_job_waiting_on_itself_is_refused(scripts):
    assert problems_of(declaration({"name": "a"}, {"name": "b", "depends_on": ["b"]})) == [
        "pipelines/p.yaml: jobs.b.depends_on: got 'b'; allowed: other jobs of the pipeline, not the job itself"]


def test_unreachable_jobs_are_reported_through_the_cycle_that_blocks_them(scripts):
    # c and d wait on each other: the start trigger can never reach them (nor anything after them).
    assert problems_of(declaration(
        {"name": "a"}, {"name": "b", "depends_on": ["a"]}, {"name": "c", "depends_on": ["d"]},
        {"name": "d", "depends_on": ["c"]},
    )) == ["pipelines/p.yaml: jobs.c.depends_on: got 'c -> d -> c'; allowed: an acyclic graph "
           "(a job may not wait on itself through others)"]


def test_duplicate_job_names_are_refused(scripts):
    assert problems_of(declaration({"name": "a"}, {"name": "a"}, {"name": "b", "depends_on": ["a"]})) == [
        "pipelines/p.yaml: jobs.a.name: got 'a'; allowed: a job name used once per pipeline"]


def test_glue_workflow_refuses_a_bad_dag_built_without_the_parser():
    bad = PipelineSpec(name="p", description="", jobs=(job("p", "a", "b"), job("p", "b", "a")))
    assert dag_problems("p", bad.jobs).items == [
        "<inline>: jobs.a.depends_on: got 'a -> b -> a'; allowed: an acyclic graph "
        "(a job may not wait on itself through others)"]

    def program():
        GlueWorkflow("w", GlueWorkflowArgs(pipeline=bad, workflow_name="lakehouse-dev-p",
                                           job_names={"a": "a", "b": "b"}, settings=settings(), tags=TAGS))
    with pytest.raises(ConfigError, match=r"jobs.a.depends_on: got 'a -> b -> a'"):
        run_program(program)


def test_event_mode_workflow_passes_the_policy_pack():
    tags = {"Environment": "prod", "Project": "glue-lakehouse", "Owner": "data-platform", "CostCenter": "cc-1",
            "DataClassification": "restricted", "ManagedBy": "pulumi", "Stack": "prod"}

    def program():
        GlueWorkflow("fhir-workflow", GlueWorkflowArgs(
            pipeline=SEED_002, workflow_name="lakehouse-prod-climate",
            job_names={j.name: glue_name(SEED_002, j.name) for j in SEED_002.jobs},
            settings=settings("EVENT"), tags=tags, raw_bucket="lakehouse-prod-raw", account_id=ACCOUNT))
    assert policy_violations(run_program(program, stack="prod"), "prod") == []


def test_event_mode_stack_enables_eventbridge_on_the_raw_bucket_and_targets_the_workflow():
    values = stack_file_values("dev")
    values.update({"glue-lakehouse:workflowStartMode": "EVENT", "glue-lakehouse:eventBatchSize": 3,
                   "glue-lakehouse:eventBatchWindowSeconds": 120})
    ev = evaluate_stack("dev", values)
    raw = ev.outputs["buckets"]["raw"]
    (note,) = ev.of_type("aws:s3/bucketNotification:BucketNotification")  # one per bucket, shared by the workflows
    assert (note.inputs["bucket"], note.inputs["eventbridge"]) == (raw, True)
    declared = load_stack_config("dev").pipelines
    # each pipeline starts on objects under the raw prefixes its own jobs read: a Glue workflow through its
    # EVENT trigger, a step_functions pipeline (orders) through its state machine's start rule
    prefixes = {"fhir": ["fhir/"],
                "climate": ["climate/climate/", "climate/health/", "climate/hospital/", "climate/locations/"],
                "orders": ["orders/"]}
    assert {p.name: sorted({x for j in p.jobs for a in j.reads if a.zone == "raw" for x in a.prefixes})
            for p in declared} == prefixes
    orchestrator = {p.name: p.orchestrator for p in declared}
    assert orchestrator["orders"] == "step_functions"
    # the crawler's prefixes lie under those the start rule covers: new files of every crawled source start a run
    [orders] = [p for p in declared if p.name == "orders"]
    assert all(any(c.startswith(k) for k in prefixes["orders"]) for c in orders.crawler.prefixes)
    for name, keys in prefixes.items():
        pattern = {"bucket": {"name": [raw]}, "object": {"key": [{"prefix": k} for k in keys]}}
        if orchestrator[name] == "step_functions":
            rule = ev.get("aws:cloudwatch/eventRule:EventRule", f"{name}-start")
            assert json.loads(rule.inputs["eventPattern"])["detail"] == pattern
            machine = ev.get("aws:sfn/stateMachine:StateMachine", name)
            target = ev.get("aws:cloudwatch/eventTarget:EventTarget", f"{name}-start")
            assert target.inputs["rule"] == rule.inputs["name"] == f"lakehouse-dev-{name}-start"
            assert target.inputs["arn"] == machine.outputs["arn"] == \
                f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:lakehouse-dev-{name}"
            assert [w for w in ev.of_type(WORKFLOW) if w.name == name] == []  # no Glue workflow besides
            continue
        rule = ev.get("aws:cloudwatch/eventRule:EventRule", f"{name}-raw-created")
        assert json.loads(rule.inputs["eventPattern"])["detail"] == pattern
        workflow = ev.get(WORKFLOW, name)
        target = ev.get("aws:cloudwatch/eventTarget:EventTarget", f"{name}-raw-created")
        assert target.inputs["arn"] == workflow.outputs["arn"] == \
            f"arn:aws:glue:{REGION}:{ACCOUNT}:workflow/lakehouse-dev-{name}"
        start = ev.get(TRIGGER, f"{name}-start").inputs
        assert (start["type"], start["eventBatchingConditions"]) == ("EVENT", [{"batchSize": 3, "batchWindow": 120}])
    # the raw bucket's rules (one per pipeline), and each job's failure and late rules (`maintain` included)
    rules = ev.of_type("aws:cloudwatch/eventRule:EventRule")
    assert len(rules) == len(prefixes) + 2 * sum(len(p.jobs) for p in declared)
    assert ev.outputs["workflows"] == {p.name: f"lakehouse-dev-{p.name}" for p in declared
                                       if p.orchestrator == "glue_workflow"}
