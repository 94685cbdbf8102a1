"""EventBridge rules and targets (issue 17): patterns restricted to named sources, and a role on every target
EventBridge can only invoke through one (a Glue workflow of an EVENT start)."""

from __future__ import annotations

import json
from functools import lru_cache

import pytest
from policy_support import ACCOUNT, REGION, drop_input, judged, level_of, named, set_input, shipped

from lakehouse.model.config import PROJECT, stack_file_values
from policy.lakehouse_policies import types as T
from policy.offline import resources_from_program

PATTERN = "aws-eventbridge-rule-restrict-event-pattern"
ROLE = "aws-eventbridge-target-require-role"
POLICIES = (PATTERN, ROLE)
EXPECT_SOURCE = 'expected an eventPattern whose source lists the event sources by name (e.g. ["aws.glue"])'
EXPECT_ROLE = ("expected roleArn naming a role that events.amazonaws.com assumes, allowed to invoke that target "
               "only")


@lru_cache(maxsize=None)
def _event_started(stack: str):
    """The stack with workflowStartMode EVENT: S3 Object Created in the raw zone starts each workflow."""
    from lakehouse.offline import evaluate_stack

    values = stack_file_values(stack)
    values[f"{PROJECT}:workflowStartMode"] = "EVENT"
    values.pop(f"{PROJECT}:workflowSchedule", None)
    return tuple(resources_from_program(evaluate_stack(stack, values)))


def event_started(stack: str) -> list:
    import copy

    return copy.deepcopy(list(_event_started(stack)))


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("policy", POLICIES)
def test_both_shipped_stacks_pass_and_the_policy_is_mandatory(stack, policy):
    assert judged(shipped(stack), policy, stack) == []
    assert level_of(policy, stack) == "mandatory"


@pytest.mark.parametrize("policy", POLICIES)
def test_an_event_started_stack_passes(policy):
    rs = event_started("prod")
    assert {r.name for r in rs if r.type == T.EVENT_TARGET} >= {"fhir-raw-created", "climate-raw-created"}
    assert judged(rs, policy) == []


# --- event patterns -----------------------------------------------------------------------------

def _pattern(rs, name="fhir-bronze-failed"):
    return json.loads(named(rs, name, T.EVENT_RULE).inputs["eventPattern"])


@pytest.mark.parametrize("change, message", [
    (lambda p: p.pop("source"), "eventPattern matches events of any source (no source)"),
    (lambda p: p.update(source=[{"prefix": ""}]),
     'eventPattern source [{"prefix": ""}] is not a list of exact source names'),
    (lambda p: p.update(source=[]), "eventPattern source [] is not a list of exact source names"),
    (lambda p: p.update(source="aws.glue"), 'eventPattern source "aws.glue" is not a list of exact source names'),
])
def test_a_rule_matching_any_source_is_reported(change, message):
    rs = shipped("prod")
    pattern = _pattern(rs)
    change(pattern)
    set_input(named(rs, "fhir-bronze-failed", T.EVENT_RULE), "eventPattern", json.dumps(pattern))
    assert judged(rs, PATTERN) == [("mandatory", "fhir-bronze-failed", f"{message}; {EXPECT_SOURCE}")]


def test_a_rule_without_pattern_needs_a_schedule_and_a_pattern_must_be_json():
    rs = shipped("prod")
    rule = named(rs, "fhir-bronze-failed", T.EVENT_RULE)
    drop_input(rule, "eventPattern")
    assert judged(rs, PATTERN) == [("mandatory", "fhir-bronze-failed", "the rule has neither an eventPattern nor a "
                                                                       f"scheduleExpression; {EXPECT_SOURCE}")]
    set_input(rule, "scheduleExpression", "rate(1 hour)")
    assert judged(rs, PATTERN) == []
    set_input(rule, "eventPattern", '{"source": ["aws.glue"]')
    assert judged(rs, PATTERN) == [("mandatory", "fhir-bronze-failed", "eventPattern is not valid JSON (Expecting "
                                                                       "',' delimiter at line 1 column 24); "
                                                                       f"{EXPECT_SOURCE}")]


# --- roles of targets ---------------------------------------------------------------------------

def test_a_glue_workflow_target_without_a_role_is_reported():
    rs = event_started("prod")
    target = named(rs, "fhir-raw-created", T.EVENT_TARGET)
    assert set(target.property_dependencies["arn"]) == {named(rs, "fhir", T.GLUE_WORKFLOW).urn}
    drop_input(target, "roleArn")
    target.property_dependencies.pop("roleArn")  # a role set but not known yet still counts
    assert judged(rs, ROLE) == [("mandatory", "fhir-raw-created", "event target 'fhir-raw-created' of rule "
                                                                  "'lakehouse-prod-fhir-raw-created' invokes a Glue "
                                                                  f"workflow without a role; {EXPECT_ROLE}")]


@pytest.mark.parametrize("arn, kind", [
    (f"arn:aws:glue:{REGION}:{ACCOUNT}:workflow/elsewhere", "a Glue workflow"),
    (f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:etl", "a Step Functions state machine"),
    (f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/events", "a Kinesis stream"),
])
def test_a_target_named_by_arn_is_known_by_its_service(arn, kind):
    rs = shipped("prod")
    target = named(rs, "fhir-gold-failed", T.EVENT_TARGET)
    set_input(target, "arn", arn)  # still depending on the alert topic: the ARN says what it is
    assert judged(rs, ROLE) == [("mandatory", "fhir-gold-failed", "event target 'fhir-gold-failed' of rule "
                                                                  "'lakehouse-prod-fhir-gold-failed' invokes "
                                                                  f"{kind} without a role; {EXPECT_ROLE}")]
