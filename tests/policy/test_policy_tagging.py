"""Tagging policies: required tags on every taggable resource, Environment = the stack."""

from __future__ import annotations

from policy_support import happy_stack, single, tags

REQUIRED = "aws-resource-require-tags"
ENVIRONMENT = "aws-resource-environment-tag-matches-stack"
ALL = "Environment, Project, Owner, CostCenter, DataClassification, ManagedBy"


def test_happy_stack_is_fully_tagged():
    s = happy_stack()
    assert single(s, REQUIRED) == []
    assert single(s, ENVIRONMENT) == []


def test_missing_and_empty_tags_are_listed():
    s = happy_stack()
    del s.get("raw-bucket").inputs["tags"]["Owner"]
    s.get("raw-bucket").inputs["tags"]["CostCenter"] = " "
    assert single(s, REQUIRED) == [
        ("raw-bucket", f"missing required tags: Owner, CostCenter; expected non-empty values for {ALL}")]


def test_taggable_resource_without_any_tags_is_reported_but_untaggable_ones_are_not():
    s = happy_stack()
    del s.get("job-role").inputs["tags"]
    assert "tags" not in s.get("job-role-policy").inputs  # RolePolicy takes no tags
    assert single(s, REQUIRED) == [("job-role", f"missing required tags: {ALL}; expected non-empty values for {ALL}")]


def test_required_tags_come_from_the_policy_config():
    s = happy_stack()
    config = {REQUIRED: {"requiredTags": ["Team"]}}
    assert len(single(s, REQUIRED, config)) == len([r for r in s.resources if "tags" in r.inputs])
    assert single(s, REQUIRED, config)[0][1] == "missing required tags: Team; expected non-empty values for Team"


def test_environment_tag_must_match_the_stack_name_from_the_urn():
    s = happy_stack("prod")
    s.get("alerts").inputs["tags"] = tags("prod", Environment="dev")
    assert single(s, ENVIRONMENT) == [
        ("alerts", "Environment tag is 'dev'; expected 'prod' (the stack's environment)")]


def test_environment_can_be_set_in_config_and_a_missing_tag_is_left_to_the_required_tags_policy():
    s = happy_stack("prod-eu")
    for r in s.resources:
        if "tags" in r.inputs:
            r.inputs["tags"]["Environment"] = "prod"
    assert single(s, ENVIRONMENT, {ENVIRONMENT: {"environment": "prod"}}) == []
    assert len(single(s, ENVIRONMENT)) == len([r for r in s.resources if "tags" in r.inputs])
    del s.get("lake-key").inputs["tags"]["Environment"]
    assert ("lake-key" not in [n for n, _ in single(s, ENVIRONMENT)])
