"""TableOptimizers under Pulumi mocks: one Glue table optimizer per listed table and type, no retention on a
checkpointed table, one role scoped to the listed tables, the optimizers' KMS-encrypted log groups; every
request valid for botocore, and the pack's resource policies judge the role and the log groups."""

from __future__ import annotations

import json

import pytest
from aws_requests import Ctx, resource_errors
from component_support import CTX, REGION, parliament_findings, policy_doc, run
from policy_support import policy_violations

from components.table_optimizers import TableOptimizers, TableOptimizersArgs
from lakehouse.model.config import load_stack_config
from lakehouse.model.table_optimizers import LOG_GROUPS, optimizable_tables

OPTIMIZER = "aws:glue/catalogTableOptimizer:CatalogTableOptimizer"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY_ARN = f"arn:aws:kms:{REGION}:{CTX.account_id}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TAGS = {"Environment": "prod", "Project": "glue-lakehouse", "Owner": "data-platform", "CostCenter": "cc-1",
        "DataClassification": "internal", "ManagedBy": "pulumi"}
BUCKETS = {z: f"lakehouse-prod-{z}-{CTX.account_id}" for z in ("bronze", "silver", "gold")}
DATABASES = {z: f"lakehouse_prod_{z}" for z in ("bronze", "silver", "gold")}


def args(*keys: str, protect: bool = True) -> TableOptimizersArgs:
    known = optimizable_tables(load_stack_config("prod").pipelines)
    return TableOptimizersArgs(
        tables=tuple(known[k] for k in keys), role_name="lakehouse-prod-table-optimizers", aws=CTX,
        buckets=BUCKETS, databases=DATABASES, key_alias="alias/lakehouse-prod-lake", kms_key_arn=KEY_ARN,
        log_retention_days=365, tags=TAGS, protect=protect)


@pytest.fixture(scope="module")
def ev():
    return run(lambda: TableOptimizers("table-optimizers", args("silver.encounters", "bronze.fhir_patient")))


def optimizers(ev) -> dict[tuple[str, str, str], dict]:
    return {(r.props["databaseName"], r.props["tableName"], r.props["type"]): r.props for r in ev.of_type(OPTIMIZER)}


def test_each_table_gets_its_optimizers_and_a_checkpointed_one_no_retention(ev):
    found = optimizers(ev)
    assert set(found) == {
        ("lakehouse_prod_silver", "encounters", "compaction"), ("lakehouse_prod_silver", "encounters", "retention"),
        ("lakehouse_prod_silver", "encounters", "orphan_file_deletion"),
        ("lakehouse_prod_bronze", "fhir_patient", "compaction"),
        ("lakehouse_prod_bronze", "fhir_patient", "orphan_file_deletion")}
    role_arn = f"arn:aws:iam::{CTX.account_id}:role/lakehouse-prod-table-optimizers"
    for props in found.values():
        assert props["catalogId"] == CTX.account_id
        assert props["configuration"]["enabled"] is True and props["configuration"]["roleArn"] == role_arn
    retention = found[("lakehouse_prod_silver", "encounters", "retention")]["configuration"]
    assert retention["retentionConfiguration"]["icebergConfiguration"] == {
        "snapshotRetentionPeriodInDays": 7, "numberOfSnapshotsToRetain": 1, "cleanExpiredFiles": True,
        "runRateInHours": 24}
    orphans = found[("lakehouse_prod_bronze", "fhir_patient", "orphan_file_deletion")]["configuration"]
    assert orphans["orphanFileDeletionConfiguration"]["icebergConfiguration"] == {
        "orphanFileRetentionPeriodInDays": 3, "runRateInHours": 24}
    compaction = found[("lakehouse_prod_bronze", "fhir_patient", "compaction")]["configuration"]
    assert compaction["compactionConfiguration"]["icebergConfiguration"] == {"strategy": "binpack",
                                                                             "minInputFiles": 5}


def test_optimizers_wait_for_their_permissions_and_log_group(ev):
    policy, = ev.of_type(ROLE_POLICY)
    groups = {r.props["name"]: r.urn for r in ev.of_type(LOG_GROUP)}
    for r in ev.of_type(OPTIMIZER):
        assert policy.urn in r.explicit_dependencies
        assert groups[LOG_GROUPS[r.props["type"]]] in r.explicit_dependencies


def test_the_role_is_glue_only_for_the_account_and_scoped_to_the_listed_tables(ev):
    role, = ev.of_type(ROLE)
    trust = policy_doc(role.props["assumeRolePolicy"])
    [st] = trust["Statement"]
    assert st["Principal"] == {"Service": "glue.amazonaws.com"}
    assert st["Condition"] == {"StringEquals": {"aws:SourceAccount": CTX.account_id}}
    assert role.props["tags"] == TAGS
    doc = policy_doc(ev.one(ROLE_POLICY).props["policy"])
    objects = next(s for s in doc["Statement"] if s["Sid"] == "RewriteTableObjects")["Resource"]
    assert objects == [f"arn:aws:s3:::{BUCKETS['bronze']}/fhir_patient/*",
                       f"arn:aws:s3:::{BUCKETS['silver']}/encounters/*"]
    assert parliament_findings(doc) == [] and parliament_findings(trust, trust=True) == []


def test_log_groups_are_the_optimizers_own_encrypted_and_retained(ev):
    groups = {r.props["name"]: r.props for r in ev.of_type(LOG_GROUP)}
    assert sorted(groups) == sorted(LOG_GROUPS.values())
    for props in groups.values():
        assert props["kmsKeyId"] == KEY_ARN and props["retentionInDays"] == 365
        assert props["deletionProtectionEnabled"] is True and props["tags"] == TAGS


def test_no_retention_log_group_without_a_retention_optimizer():
    only = run(lambda: TableOptimizers("opt", args("bronze.fhir_patient", protect=False)))
    assert sorted(r.props["name"] for r in only.of_type(LOG_GROUP)) == sorted(
        [LOG_GROUPS["compaction"], LOG_GROUPS["orphan_file_deletion"]])
    assert {r.props["type"] for r in only.of_type(OPTIMIZER)} == {"compaction", "orphan_file_deletion"}


def test_no_table_is_refused():
    with pytest.raises(ValueError, match=r"tables: got \(\); allowed: at least one table"):
        run(lambda: TableOptimizers("opt", args()))


def test_every_request_is_valid_for_botocore(ev):
    errors = [e for r in ev if r.type.startswith("aws:")
              for e in resource_errors(r.type, r.name, r.props, Ctx(r.name, r.id, region=REGION))]
    assert errors == []


def test_the_packs_resource_policies_pass(ev):
    assert policy_violations(ev, "prod") == []


@pytest.mark.parametrize("type_, change, policy", [
    (LOG_GROUP, lambda p: p.pop("kmsKeyId"), "aws-cloudwatch-log-group-enable-kms"),
    (LOG_GROUP, lambda p: p.pop("retentionInDays"), "aws-cloudwatch-log-group-configure-retention"),
    (ROLE_POLICY, lambda p: p.__setitem__("policy", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Everything", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]})),
     "aws-iam-disallow-wildcard-resources"),
    (ROLE, lambda p: p.__setitem__("assumeRolePolicy", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})),
     "aws-iam-role-restrict-trust-principals"),
])
def test_the_packs_policies_judge_the_new_resources(ev, type_, change, policy):
    """The existing IAM and encryption policies see the role and log groups: one broken field, one violation."""
    import copy

    broken = copy.deepcopy(ev)
    target = next(r for r in broken if r.type == type_)
    change(target.props)
    found = policy_violations(broken, "prod")
    assert any(f" {policy} " in v for v in found), found


def test_the_program_composes_them_from_the_stack_config():
    """__main__: nothing without the key; with it, the component and the lake key letting CloudWatch Logs
    encrypt exactly the optimizers' log groups in use (no retention group: only a checkpointed table)."""
    from lakehouse.model.config import stack_file_values
    from lakehouse.offline import evaluate_stack

    values = stack_file_values("prod")
    values["glue-lakehouse:tableOptimizers"] = ["bronze.fhir_patient"]
    ev = evaluate_stack("prod", values)
    assert {r.props["type"] for r in ev.of_type(OPTIMIZER)} == {"compaction", "orphan_file_deletion"}
    role = next(r for r in ev.of_type(ROLE) if r.props["name"] == "lakehouse-prod-table-optimizers")
    assert role.parent == ev.one("glue-lakehouse:components:TableOptimizers").urn
    key_policy = policy_doc(ev.one("aws:kms/key:Key").props["policy"])
    encrypted = next(s for s in key_policy["Statement"] if s["Sid"] == "CloudWatchLogsEncryptOrchestrationLogGroups")
    arns = encrypted["Condition"]["StringEquals"]["kms:EncryptionContext:aws:logs:arn"]
    assert {a.rpartition("log-group:")[2] for a in arns if "iceberg" in a} == {
        LOG_GROUPS["compaction"], LOG_GROUPS["orphan_file_deletion"]}
    assert evaluate_stack("prod").of_type(OPTIMIZER) == []  # Pulumi.prod.yaml lists none
