"""Glue workflows and triggers (issue 17): a valid cron schedule on scheduled triggers only, triggers that start
and wait on the stack's own jobs and crawlers, workflows with a bounded number of concurrent runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from policy_support import drop_input, judged, level_of, named, run, set_input, shipped, urn

from policy.lakehouse_policies import types as T
from policy.offline import Resource

SCHEDULE = "aws-glue-trigger-configure-valid-schedule"
STACK_JOBS = "aws-glue-trigger-start-stack-jobs"
RUNS = "aws-glue-workflow-limit-concurrent-runs"
POLICIES = (SCHEDULE, STACK_JOBS, RUNS)
ROOT = Path(__file__).resolve().parents[2]

EXPECT_CRON = "expected cron(minutes hours day-of-month month day-of-week year) in UTC"
EXPECT_JOBS = "expected only the Glue jobs and crawlers of this stack"


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("policy", POLICIES)
def test_both_shipped_stacks_pass_and_the_policy_is_mandatory(stack, policy):
    assert judged(shipped(stack), policy, stack) == []
    assert level_of(policy, stack) == "mandatory"


def test_the_pack_carries_the_cron_grammar_of_the_model_byte_for_byte():
    model = (ROOT / "lakehouse" / "model" / "schedule.py").read_bytes()
    assert (ROOT / "policy" / "lakehouse_policies" / "_schedule_model.py").read_bytes() == model, (
        "edit lakehouse/model/schedule.py, then copy it to policy/lakehouse_policies/_schedule_model.py")


# --- schedules ----------------------------------------------------------------------------------

@pytest.mark.parametrize("schedule, problems", [
    ("cron(0 25 * * ? *)", "hours: 25 is not 0-23"),
    ("cron(0 2 * * MON *)", "day-of-month and day-of-week: one of them must be ? (AWS cannot combine them)"),
    ("cron(0 2 * *)", "six fields (minutes hours day-of-month month day-of-week year), got 4"),
    ("rate(1 day)", "the form cron(<six fields>) (Glue triggers take no rate(...) expressions)"),
])
def test_an_invalid_schedule_is_reported_with_the_rules_it_breaks(schedule, problems):
    rs = shipped("prod")
    set_input(named(rs, "fhir-start"), "schedule", schedule)
    assert judged(rs, SCHEDULE) == [("mandatory", "fhir-start", f"schedule {schedule!r} is not a valid AWS cron "
                                                                f"expression ({problems}); {EXPECT_CRON}")]


def test_a_scheduled_trigger_needs_a_schedule_and_only_it_may_carry_one():
    rs = shipped("prod")
    drop_input(named(rs, "fhir-start"), "schedule")
    assert judged(rs, SCHEDULE) == [("mandatory", "fhir-start", f"the SCHEDULED trigger has no schedule; "
                                                                f"{EXPECT_CRON}")]
    rs = shipped("dev")
    set_input(named(rs, "climate-start"), "schedule", "cron(0 2 * * ? *)")
    assert judged(rs, SCHEDULE, "dev") == [(
        "mandatory", "climate-start", "a trigger of type ON_DEMAND carries schedule 'cron(0 2 * * ? *)', which Glue "
                                      "ignores; expected a schedule only on a SCHEDULED trigger")]


# --- triggers start the stack's own jobs --------------------------------------------------------

def test_a_trigger_starting_or_waiting_on_a_job_of_another_stack_is_reported():
    rs = shipped("prod")
    trigger = named(rs, "fhir-after-bronze")
    set_input(trigger, "actions", [{"jobName": "lakehouse-staging-fhir-silver"}])
    set_input(trigger, "predicate", {"logical": "AND", "conditions": [
        {"jobName": "lakehouse-prod-fhir-bronze", "state": "SUCCEEDED", "logicalOperator": "EQUALS"},
        {"crawlerName": "raw-crawler", "crawlState": "SUCCEEDED", "logicalOperator": "EQUALS"}]})
    set_input(named(rs, "climate-start"), "workflowName", "lakehouse-staging-climate")
    assert judged(rs, STACK_JOBS) == sorted([
        ("mandatory", "climate-start", "trigger 'lakehouse-prod-climate-start' belongs to workflow "
                                       "'lakehouse-staging-climate', which is not a Glue workflow of this stack; "
                                       "expected a workflow of this stack"),
        ("mandatory", "fhir-after-bronze", "trigger 'lakehouse-prod-fhir-after-bronze' starts job "
                                           "'lakehouse-staging-fhir-silver', which is not a Glue job of this stack; "
                                           f"{EXPECT_JOBS}"),
        ("mandatory", "fhir-after-bronze", "trigger 'lakehouse-prod-fhir-after-bronze' waits on crawler "
                                           f"'raw-crawler', which is not a Glue crawler of this stack; {EXPECT_JOBS}"),
    ])


def test_a_crawler_of_the_stack_may_be_started_and_an_action_must_start_something():
    rs = shipped("prod")
    rs.append(Resource(type=T.GLUE_CRAWLER, name="raw-crawler", urn=urn("prod", T.GLUE_CRAWLER, "raw-crawler"),
                       inputs={"name": "lakehouse-prod-raw", "databaseName": "lakehouse_prod_bronze"}))
    trigger = named(rs, "fhir-after-bronze")
    set_input(trigger, "actions", [{"crawlerName": "lakehouse-prod-raw"}, {"arguments": {"--x": "1"}}])
    trigger.property_dependencies.pop("actions")
    assert judged(rs, STACK_JOBS) == [(
        "mandatory", "fhir-after-bronze", "trigger 'lakehouse-prod-fhir-after-bronze' action #2 starts nothing (no "
                                          f"jobName or crawlerName); {EXPECT_JOBS}")]


# --- workflows ----------------------------------------------------------------------------------

def test_unbounded_or_too_many_concurrent_runs_are_reported():
    rs = shipped("prod")
    drop_input(named(rs, "fhir", T.GLUE_WORKFLOW), "maxConcurrentRuns")
    set_input(named(rs, "climate", T.GLUE_WORKFLOW), "maxConcurrentRuns", 3)
    assert judged(rs, RUNS) == [
        ("mandatory", "climate", "maxConcurrentRuns is 3; expected at most 1"),
        ("mandatory", "fhir", "maxConcurrentRuns is unset (any number of concurrent runs); expected at most 1"),
    ]


def test_the_maximum_is_configurable():
    rs = shipped("prod")
    set_input(named(rs, "climate", T.GLUE_WORKFLOW), "maxConcurrentRuns", 3)
    assert run(rs, [RUNS], {RUNS: {"maxConcurrentRuns": 3}}) == []
    assert [v.message for v in run(rs, [RUNS], {RUNS: {"maxConcurrentRuns": 2}})] == [
        "maxConcurrentRuns is 3; expected at most 2"]
