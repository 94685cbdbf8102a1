"""Athena's two policies on what the program registers under the SDK's mocks: the workgroup enforces
its configuration, the analyst role reaches gold only. Both stacks pass; each mutation fails with its
exact message."""

from __future__ import annotations

import copy
import json

import pytest

from policy.offline import POLICY_DIR, Resource, evaluate, load_pack_config, resources_from_program

WORKGROUP = "aws-athena-workgroup-enforce-configuration"
ANALYST = "aws-iam-analyst-role-reads-gold-only"


@pytest.fixture(scope="module")
def stacks() -> dict[str, list[Resource]]:
    from lakehouse.offline import evaluate_stack

    return {s: resources_from_program(evaluate_stack(s)) for s in ("dev", "prod")}


def found(resources: list[Resource], policy: str, stack: str = "prod") -> list[tuple[str, str]]:
    from policy.lakehouse_policies import policies_by_name

    config = {k: v for k, v in load_pack_config(POLICY_DIR / f"config.{stack}.json").items() if k in ("all", policy)}
    violations = evaluate(resources, config, policies=[policies_by_name()[policy]])
    return sorted((v.resource_name, v.message) for v in violations)


def changed(resources: list[Resource], name: str, change) -> list[Resource]:
    """A copy with `change` applied to the named resource's inputs (and state: stack policies read it)."""
    out = copy.deepcopy(resources)
    [r] = [r for r in out if r.name == name]
    for props in (r.inputs, r.state):
        if props:
            change(props)
    return out


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_both_stacks_pass(stacks, stack):
    assert found(stacks[stack], WORKGROUP, stack) == []
    assert found(stacks[stack], ANALYST, stack) == []


def conf(inputs: dict) -> dict:
    return inputs["configuration"]


@pytest.mark.parametrize("change, message", [
    (lambda i: conf(i).update(enforceWorkgroupConfiguration=False),
     "workgroup lets queries override its settings (results location, encryption, cutoff); "
     "expected configuration.enforceWorkgroupConfiguration: true"),
    (lambda i: conf(i)["resultConfiguration"]["encryptionConfiguration"].update(encryptionOption="SSE_S3"),
     "query results are encrypted with SSE_S3; expected encryptionOption SSE_KMS | CSE_KMS with a customer-managed "
     "KMS key"),
    (lambda i: conf(i)["resultConfiguration"]["encryptionConfiguration"].update(kmsKeyArn="alias/aws/s3"),
     "query results use alias/aws/s3; expected kmsKeyArn = a customer-managed KMS key"),
    (lambda i: conf(i).pop("bytesScannedCutoffPerQuery"),
     "no per-query scan limit (bytesScannedCutoffPerQuery: None); expected at least 10000000 bytes, set from "
     "athenaBytesScannedCutoffMb"),
    (lambda i: conf(i)["engineVersion"].update(selectedEngineVersion="AUTO"),
     "engine version is AUTO (Athena upgrades it at will); expected a pinned selectedEngineVersion such as "
     "'Athena engine version 3'"),
    (lambda i: conf(i).update(publishCloudwatchMetricsEnabled=False),
     "workgroup publishes no CloudWatch metrics; expected publishCloudwatchMetricsEnabled: true"),
])
def test_each_weakened_workgroup_setting_is_named(stacks, change, message):
    assert found(changed(stacks["prod"], "analytics-workgroup", change), WORKGROUP) == [
        ("analytics-workgroup", message)]


def with_statement(statement: dict):
    def change(inputs: dict) -> None:
        doc = json.loads(inputs["policy"])
        doc["Statement"].append(statement)
        inputs["policy"] = json.dumps(doc)
    return change


@pytest.mark.parametrize("statement, zone, arn", [
    ({"Sid": "Bronze", "Effect": "Allow", "Action": "s3:GetObject",
      "Resource": "arn:aws:s3:::lakehouse-prod-bronze-123456789012/fhir_patient/*"},
     "bronze", "arn:aws:s3:::lakehouse-prod-bronze-123456789012/fhir_patient/*"),
    ({"Sid": "Raw", "Effect": "Allow", "Action": "s3:ListBucket",
      "Resource": "arn:aws:s3:::lakehouse-prod-raw-123456789012"},
     "raw", "arn:aws:s3:::lakehouse-prod-raw-123456789012"),
    ({"Sid": "Silver", "Effect": "Allow", "Action": "glue:GetTable",
      "Resource": "arn:aws:glue:us-east-1:123456789012:table/lakehouse_prod_silver/patients"},
     "silver", "arn:aws:glue:us-east-1:123456789012:table/lakehouse_prod_silver/patients"),
])
def test_the_analyst_role_reaching_below_gold_is_named(stacks, statement, zone, arn):
    mutated = changed(stacks["prod"], "analytics-analyst-policy", with_statement(statement))
    assert found(mutated, ANALYST) == [(
        "", f"analyst role analytics-analyst: analytics-analyst-policy statement '{statement['Sid']}' reaches the "
            f"{zone} zone ({arn}); expected gold tables, the query results prefix and the workgroup only")]


def test_a_deny_below_gold_is_not_a_grant(stacks):
    deny = {"Sid": "NoBronze", "Effect": "Deny", "Action": "s3:*",
            "Resource": "arn:aws:s3:::lakehouse-prod-bronze-123456789012/*"}
    assert found(changed(stacks["prod"], "analytics-analyst-policy", with_statement(deny)), ANALYST) == []
