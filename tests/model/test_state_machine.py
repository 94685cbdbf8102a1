"""The Step Functions definition of a pipeline (lakehouse.model.state_machine) against its DAG, and validated by
real implementations: moto's Step Functions with its ASL parser (CreateStateMachine) and asl-validator (npm)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from lakehouse.model.pipelines import REPO_ROOT, CrawlerSpec, JobSpec, PipelineSpec
from lakehouse.model.state_machine import (
    CONCURRENT_RUNS,
    GET_CRAWLER,
    GLUE_JOB_SYNC,
    SNS_PUBLISH,
    START_CRAWLER,
    definition,
    tasks,
)

TOPIC = "arn:aws:sns:us-east-1:123456789012:lh-test-alerts"
ASL_VALIDATOR = REPO_ROOT / ".cache" / "asl-validator" / "node_modules" / ".bin" / "asl-validator"


def job(name: str, *deps: str) -> JobSpec:
    return JobSpec(pipeline="p", name=name, script=f"p/{name}.py", depends_on=deps)


CHAIN = PipelineSpec("orders", "extract, transform, load", (job("extract"), job("transform", "extract"),
                                                            job("load", "transform")))
# a fan-out to three jobs, a fan-in, and a job waiting on the root only (it may run in the second wave)
GRAPH = PipelineSpec("climate", "fan-out and in", (
    job("locations"), job("climate", "locations"), job("health", "locations"), job("hospitals", "locations"),
    job("metrics", "climate", "health", "hospitals"), job("report", "metrics")))
CRAWLED = PipelineSpec("orders", "with a crawler", CHAIN.jobs,
                       crawler=CrawlerSpec(("orders/orders/", "orders/customers/"), "orders_raw_"),
                       orchestrator="step_functions")
ALL = {"chain": CHAIN, "graph": GRAPH, "crawled": CRAWLED}


def glue_names(p: PipelineSpec) -> dict[str, str]:
    return {j.name: f"lh-test-{p.name}-{j.name}" for j in p.jobs}


def build(p: PipelineSpec) -> dict:
    return definition(p, glue_names(p), TOPIC, "lh-test-orders-crawler" if p.crawler else None)


def job_tasks(doc: dict) -> dict[str, dict]:
    """Glue job name -> its Task state (anywhere in the definition)."""
    return {s["Parameters"]["JobName"]: s for _, s in tasks(doc) if s["Resource"] == GLUE_JOB_SYNC}


def top_level_order(doc: dict) -> list[str]:
    """The top-level states from StartAt along Next (the happy path), crawler loop and choices followed to
    their success branch."""
    order, name = [], doc["StartAt"]
    while name and name not in order:
        order.append(name)
        state = doc["States"][name]
        if state["Type"] == "Choice":
            name = state["Choices"][0]["Next"]  # READY, then SUCCEEDED
        else:
            name = state.get("Next")
    return order


def jobs_of(state: dict) -> set[str]:
    if state["Type"] == "Task" and state["Resource"] == GLUE_JOB_SYNC:
        return {state["Parameters"]["JobName"]}
    return {s["Parameters"]["JobName"] for b in state.get("Branches", []) for s in b["States"].values()
            if s["Type"] == "Task" and s["Resource"] == GLUE_JOB_SYNC}


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_job_is_one_sync_task_of_its_own_glue_job(name):
    p = ALL[name]
    found = [s["Parameters"]["JobName"] for _, s in tasks(build(p)) if s["Resource"] == GLUE_JOB_SYNC]
    assert sorted(found) == sorted(glue_names(p).values())  # each exactly once


@pytest.mark.parametrize("name", sorted(ALL))
def test_the_happy_path_runs_every_job_after_everything_it_depends_on(name):
    p = ALL[name]
    doc, glue = build(p), glue_names(p)
    position: dict[str, int] = {}
    for i, state in enumerate(top_level_order(doc)):
        for g in jobs_of(doc["States"][state]):
            position[g] = i
    assert set(position) == set(glue.values())  # every job on the path to PipelineSucceeded
    assert top_level_order(doc)[-1] == "PipelineSucceeded"
    for j in p.jobs:
        for d in j.depends_on:
            assert position[glue[d]] < position[glue[j.name]], (d, j.name)


def test_a_fan_out_is_one_parallel_state_with_a_branch_per_job():
    doc, glue = build(GRAPH), glue_names(GRAPH)
    parallels = [s for s in doc["States"].values() if s["Type"] == "Parallel"]
    assert [sorted(jobs_of(s)) for s in parallels] == [sorted(glue[j] for j in ("climate", "health", "hospitals"))]
    assert all(len(jobs_of({"Type": "Parallel", "Branches": [b]})) == 1 for b in parallels[0]["Branches"])
    # single-job waves are plain tasks
    assert doc["States"]["Run locations"]["Resource"] == GLUE_JOB_SYNC


def publishes_then_fails(states: dict, name: str) -> bool:
    state = states[name]
    return (state["Type"] == "Task" and state["Resource"] == SNS_PUBLISH
            and state["Parameters"]["TopicArn"] == TOPIC and states[state["Next"]]["Type"] == "Fail")


def scopes(doc: dict):
    """Every States mapping (the top level and each Parallel branch)."""
    yield doc["States"]
    for state in doc["States"].values():
        for branch in state.get("Branches", []):
            yield from scopes(branch)


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_task_retries_with_backoff_and_catches_into_an_alert_then_fail(name):
    doc = build(ALL[name])
    checked = 0
    for states in scopes(doc):
        for sname, state in states.items():
            if state["Type"] != "Task" or state["Resource"] == SNS_PUBLISH:
                continue
            checked += 1
            assert state["Retry"], sname
            for retrier in state["Retry"]:
                assert retrier["IntervalSeconds"] >= 1 and retrier["BackoffRate"] > 1 and retrier["MaxAttempts"] >= 1
            (catch,) = state["Catch"]
            assert catch["ErrorEquals"] == ["States.ALL"]
            assert publishes_then_fails(states, catch["Next"]), sname
    assert checked == len(ALL[name].jobs) + (2 if ALL[name].crawler else 0)


def test_a_job_at_its_concurrent_run_limit_is_retried_before_a_failed_run():
    for state in job_tasks(build(CHAIN)).values():
        assert [r["ErrorEquals"] for r in state["Retry"]] == [[CONCURRENT_RUNS], ["States.TaskFailed"]]


def test_a_failed_branch_alerts_once_and_fails_the_execution():
    doc = build(GRAPH)
    (parallel,) = [s for s in doc["States"].values() if s["Type"] == "Parallel"]
    assert doc["States"][parallel["Catch"][0]["Next"]]["Type"] == "Fail"  # no second publish


def test_with_a_crawler_the_crawl_runs_first_and_is_polled_until_ready():
    doc = build(CRAWLED)
    states = doc["States"]
    start = states[doc["StartAt"]]
    assert (start["Resource"], start["Parameters"]) == (START_CRAWLER, {"Name": "lh-test-orders-crawler"})
    wait = states[start["Next"]]
    get = states[wait["Next"]]
    assert wait["Type"] == "Wait" and wait["Seconds"] > 0
    assert (get["Resource"], get["Parameters"]) == (GET_CRAWLER, {"Name": "lh-test-orders-crawler"})
    ready = states[get["Next"]]
    assert ready["Type"] == "Choice" and ready["Default"] == start["Next"]  # not READY: wait again
    assert ready["Choices"][0]["StringEquals"] == "READY"
    reported = states[ready["Choices"][0]["Next"]]
    # no crawl ended yet: wait (a comparison on a missing path would be an uncatchable States.Runtime)
    assert reported["Choices"][0]["IsPresent"] is True and reported["Default"] == start["Next"]
    succeeded = states[reported["Choices"][0]["Next"]]
    assert succeeded["Choices"][0] == {"Variable": "$.crawler.Details.LastCrawl.Status",
                                       "StringEquals": "SUCCEEDED", "Next": "Run extract"}
    assert publishes_then_fails(states, succeeded["Default"])  # FAILED or CANCELLED: alert, no job runs


def test_the_polled_states_are_the_ones_the_glue_api_returns():
    import botocore.session

    glue = botocore.session.get_session().get_service_model("glue")
    assert "READY" in glue.shape_for("CrawlerState").enum
    assert "SUCCEEDED" in glue.shape_for("LastCrawlStatus").enum


def test_a_missing_job_name_or_a_crawler_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"no Glue job name for \['load'\]"):
        definition(CHAIN, {"extract": "a", "transform": "b"}, TOPIC)
    with pytest.raises(ValueError, match="a crawler name is given exactly when the pipeline declares a crawler"):
        definition(CHAIN, glue_names(CHAIN), TOPIC, "c")
    with pytest.raises(ValueError, match="a crawler name is given exactly when the pipeline declares a crawler"):
        definition(CRAWLED, glue_names(CRAWLED), TOPIC)


def test_state_names_fit_the_asl_limit_for_long_job_names():
    long = PipelineSpec("p", "", (job("a" * 40), job("b" * 40, "a" * 40), job("c" * 40, "a" * 40)))
    for states in scopes(definition(long, glue_names(long), TOPIC)):
        assert all(len(n) <= 80 for n in states), [n for n in states if len(n) > 80]


# --- real implementations ------------------------------------------------------------------

@pytest.fixture
def moto_sfn(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    # execute_state_machine: moto's Step Functions parses definitions with its ASL parser (LocalStack's)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions")


def create(sfn, name: str, doc: dict | str) -> str:
    return sfn.create_state_machine(name=name, definition=doc if isinstance(doc, str) else json.dumps(doc),
                                    roleArn="arn:aws:iam::123456789012:role/sfn", type="STANDARD")["stateMachineArn"]


@pytest.mark.parametrize("name", sorted(ALL))
def test_moto_step_functions_parses_and_stores_the_definition(moto_sfn, name):
    doc = build(ALL[name])
    arn = create(moto_sfn, name, doc)
    assert json.loads(moto_sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == doc


def test_moto_step_functions_refuses_a_broken_definition(moto_sfn):
    doc = build(CHAIN)
    doc["States"]["Run extract"]["Type"] = "Taks"
    with pytest.raises(moto_sfn.exceptions.ClientError, match="ASLParserException"):
        create(moto_sfn, "broken", doc)


def asl_errors(doc: dict, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "definition.json"
    path.write_text(json.dumps(doc))
    done = subprocess.run([str(ASL_VALIDATOR), "--json-path", str(path)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "NO_COLOR": "1"})
    return done.returncode, done.stdout + done.stderr


def test_asl_validator_is_installed_by_setup():
    assert ASL_VALIDATOR.exists(), "run `make setup` (scripts/setup.sh installs asl-validator into .cache)"


@pytest.mark.parametrize("name", sorted(ALL))
def test_asl_validator_accepts_the_definition(tmp_path, name):
    code, out = asl_errors(build(ALL[name]), tmp_path)
    assert code == 0, out


def test_asl_validator_refuses_a_dangling_next(tmp_path):
    doc = build(GRAPH)
    doc["States"]["Run locations"]["Next"] = "Nowhere"
    code, out = asl_errors(doc, tmp_path)
    assert code != 0 and "Nowhere" in out, out
