"""Mutation tests: take the prod stack's registered resources (the program under the SDK's
mocks), break one property at a time, and assert that exactly the matching policy reports it.

RDS, security groups, the secret and the Glue JDBC connection come with the database issue;
when the program does not register them, a realistic one is added first, then mutated.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any, Callable

import pytest
from policy_support import KEY_ARN, Stack, add_database_side, orchestration_side

from policy.lakehouse_policies import types as T
from policy.lakehouse_policies.taggable import is_taggable
from policy.offline import POLICY_DIR, Resource, Violation, evaluate, load_pack_config, resources_from_program

PROD_CONFIG = load_pack_config(POLICY_DIR / "config.prod.json")
# Existing tables given Glue table optimizers (tableOptimizers, empty in Pulumi.prod.yaml): a checkpointed bronze
# table (no retention optimizer) and others with all three, so the pack judges the optimizers and their role.
OPTIMIZED_TABLES = ["bronze.fhir_patient", "bronze.orders_orders", "silver.encounters", "gold.cms_facility_monthly"]


@pytest.fixture(scope="module")
def prod_resources() -> list[Resource]:
    from lakehouse.model.config import stack_file_values
    from lakehouse.offline import evaluate_stack

    values = stack_file_values("prod")
    values["glue-lakehouse:tableOptimizers"] = values.get("glue-lakehouse:tableOptimizers") or OPTIMIZED_TABLES
    resources = resources_from_program(evaluate_stack("prod", values))
    have = {r.type for r in resources}
    if not {T.RDS_INSTANCE, T.EC2_SECURITY_GROUP, T.GLUE_CONNECTION, T.SECRET} <= have:
        extra = Stack("prod")
        add_database_side(extra)
        resources += [r for r in extra.resources if r.type not in have]
    if not {T.SFN_STATE_MACHINE, T.GLUE_CRAWLER} <= have:  # no shipped pipeline with a crawler on Step Functions
        resources += orchestration_side("prod")
    return resources


def _of(resources: list[Resource], rtype: str, where: Callable[[Resource], bool] = lambda r: True) -> Resource:
    found = [r for r in resources if r.type == rtype and where(r)]
    assert found, f"the prod stack registers no {rtype} matching the mutation's precondition"
    return found[0]


def _set(r: Resource, key: str, value: Any) -> None:
    """Change an input and the resource's state alike (stack policies read the state)."""
    r.inputs[key] = value
    if r.state:
        r.state[key] = value


def _drop(r: Resource, key: str) -> None:
    r.inputs.pop(key, None)
    if r.state:
        r.state.pop(key, None)


def _doc(r: Resource, key: str = "policy") -> dict:
    value = r.inputs[key]
    return copy.deepcopy(json.loads(value) if isinstance(value, str) else value)


def _identity_policy(resources, pred) -> tuple[Resource, dict, dict]:
    """A RolePolicy with an Allow statement matching pred: (resource, document, statement)."""
    for r in resources:
        if r.type == T.IAM_ROLE_POLICY:
            doc = _doc(r)
            for st in doc["Statement"]:
                if st.get("Effect") == "Allow" and pred(st):
                    return r, doc, st
    raise AssertionError("no role policy statement matches the mutation's precondition")


def _actions(st) -> list[str]:
    a = st.get("Action", [])
    return [a] if isinstance(a, str) else list(a)


def _resources_of(st) -> list[str]:
    a = st.get("Resource", [])
    return [a] if isinstance(a, str) else list(a)


def _object_statement(st) -> bool:
    return any(a.startswith("s3:") for a in _actions(st)) and all("*" not in r or r.endswith("/*")
                                                                     for r in _resources_of(st))


def _key(v: Violation) -> tuple[str, str, str]:
    return (v.policy, v.urn, v.message)


# --- the mutations: (id, policy expected to report, mutate(resources)) --------------------------

def m_drop_tag(rs):
    r = _of(rs, T.S3_BUCKET)
    tags = dict(r.inputs["tags"])
    del tags["Owner"]
    _set(r, "tags", tags)


def m_environment_tag(rs):
    r = _of(rs, T.GLUE_JOB)
    _set(r, "tags", {**r.inputs["tags"], "Environment": "dev"})


def m_bucket_aes256(rs):
    r = _of(rs, T.S3_SSE)
    rules = copy.deepcopy(r.inputs["rules"])
    rules[0]["applyServerSideEncryptionByDefault"] = {"sseAlgorithm": "AES256"}
    _set(r, "rules", rules)


def m_bucket_without_encryption(rs):
    rs.remove(_of(rs, T.S3_SSE))


def m_key_rotation_off(rs):
    _set(_of(rs, T.KMS_KEY), "enableKeyRotation", False)


def m_key_policy_wildcard_principal(rs):
    r = _of(rs, T.KMS_KEY, lambda r: bool(r.inputs.get("policy")))
    doc = _doc(r)
    doc["Statement"][0]["Principal"] = {"AWS": "*"}
    _set(r, "policy", json.dumps(doc))


def m_security_configuration_sse_s3(rs):
    r = _of(rs, T.GLUE_SECURITY_CONFIGURATION)
    enc = copy.deepcopy(r.inputs["encryptionConfiguration"])
    enc["s3Encryption"] = {"s3EncryptionMode": "SSE-S3"}
    _set(r, "encryptionConfiguration", enc)


def m_job_without_security_configuration(rs):
    _drop(_of(rs, T.GLUE_JOB), "securityConfiguration")


def m_catalog_passwords_unencrypted(rs):
    r = _of(rs, T.GLUE_CATALOG_ENCRYPTION)
    settings = copy.deepcopy(r.inputs["dataCatalogEncryptionSettings"])
    settings["connectionPasswordEncryption"] = {"returnConnectionPasswordEncrypted": False}
    _set(r, "dataCatalogEncryptionSettings", settings)


def m_widen_to_s3_star(rs):
    r, doc, st = _identity_policy(rs, _object_statement)
    st["Action"] = "s3:*"
    _set(r, "policy", json.dumps(doc))


def m_data_action_on_star(rs):
    r, doc, st = _identity_policy(rs, _object_statement)
    st["Resource"] = "*"
    _set(r, "policy", json.dumps(doc))


def m_attach_administrator_access(rs):
    role = _of(rs, T.IAM_ROLE)
    rs.append(Resource(type=T.IAM_ROLE_POLICY_ATTACHMENT, name="admin-attachment",
                       urn=f"urn:pulumi:prod::glue-lakehouse::{T.IAM_ROLE_POLICY_ATTACHMENT}::admin-attachment",
                       inputs={"role": role.inputs.get("name", role.name),
                               "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}))


def m_trust_any_account(rs):
    r = _of(rs, T.IAM_ROLE)
    doc = _doc(r, "assumeRolePolicy")
    doc["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::999999999999:root"}
    _set(r, "assumeRolePolicy", json.dumps(doc))


def m_pass_any_role(rs):
    r, doc, _ = _identity_policy(rs, _object_statement)
    account = KEY_ARN.split(":")[4]
    doc["Statement"].append({"Sid": "PassAnyRole", "Effect": "Allow", "Action": "iam:PassRole",
                             "Resource": f"arn:aws:iam::{account}:role/*",
                             "Condition": {"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}})
    _set(r, "policy", json.dumps(doc))


def m_typo_in_action(rs):
    r, doc, st = _identity_policy(rs, lambda st: "s3:GetObject" in _actions(st))
    st["Action"] = ["s3:GetObjekt" if a == "s3:GetObject" else a for a in _actions(st)]
    _set(r, "policy", json.dumps(doc))


def m_public_access_block_off(rs):
    _set(_of(rs, T.S3_PUBLIC_ACCESS_BLOCK), "restrictPublicBuckets", False)


def m_public_bucket_policy(rs):
    r = _of(rs, T.S3_BUCKET_POLICY)
    doc = _doc(r)
    bucket_arn = next(res for st in doc["Statement"] for res in _resources_of(st) if not res.endswith("/*"))
    doc["Statement"].append({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                             "Resource": bucket_arn + "/*"})
    _set(r, "policy", json.dumps(doc))


def m_rds_public(rs):
    _set(_of(rs, T.RDS_INSTANCE), "publiclyAccessible", True)


def m_rds_unencrypted(rs):
    _set(_of(rs, T.RDS_INSTANCE), "storageEncrypted", False)


def m_rds_short_backups(rs):
    _set(_of(rs, T.RDS_INSTANCE), "backupRetentionPeriod", 1)


def m_rds_single_az(rs):
    _set(_of(rs, T.RDS_INSTANCE), "multiAz", False)


def m_rds_no_deletion_protection(rs):
    _set(_of(rs, T.RDS_INSTANCE), "deletionProtection", False)


def m_open_security_group(rs):
    r = _of(rs, T.EC2_SECURITY_GROUP)
    ingress = copy.deepcopy(list(r.inputs.get("ingress") or []))
    ingress.append({"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrBlocks": ["0.0.0.0/0"]})
    _set(r, "ingress", ingress)


def m_connection_without_ssl(rs):
    r = _of(rs, T.GLUE_CONNECTION)
    _set(r, "connectionProperties", {**r.inputs["connectionProperties"], "JDBC_ENFORCE_SSL": "false"})


def m_old_glue_version(rs):
    r = _of(rs, T.GLUE_JOB)
    _set(r, "glueVersion", "3.0")
    # logging as a Glue 3.0 job does (continuous logging), so that only the version is wrong
    _set(r, "defaultArguments", {**r.inputs["defaultArguments"], "--enable-continuous-cloudwatch-log": "true"})


def m_long_timeout(rs):
    _set(_of(rs, T.GLUE_JOB), "timeout", 2880)


def m_too_many_workers(rs):
    _set(_of(rs, T.GLUE_JOB), "numberOfWorkers", 100)


def m_continuous_logging_off(rs):
    # a Glue 4.0 job given the Glue 5.0 logging settings (which leave continuous logging off)
    _set(_of(rs, T.GLUE_JOB), "glueVersion", "4.0")


def m_glue5_log_prefix_dropped(rs):
    r = _of(rs, T.GLUE_JOB)
    _set(r, "defaultArguments", {k: v for k, v in r.inputs["defaultArguments"].items()
                                 if k != "--custom-logGroup-prefix"})


def m_log_group_short_retention(rs):
    _set(_of(rs, T.LOG_GROUP), "retentionInDays", 30)


def m_log_group_unencrypted(rs):
    _drop(_of(rs, T.LOG_GROUP), "kmsKeyId")


def m_topic_unencrypted(rs):
    _drop(_of(rs, T.SNS_TOPIC), "kmsMasterKeyId")


def m_secret_aws_managed_key(rs):
    _set(_of(rs, T.SECRET), "kmsKeyId", "alias/aws/secretsmanager")


def m_kms_endpoint_removed(rs):
    rs.remove(_of(rs, T.EC2_VPC_ENDPOINT, lambda r: r.inputs["serviceName"].endswith(".kms")))


def m_public_topic_policy(rs):
    r = _of(rs, T.SNS_TOPIC_POLICY)
    doc = _doc(r)
    topic = next(res for st in doc["Statement"] for res in _resources_of(st))
    doc["Statement"].append({"Sid": "AnyoneOverTls", "Effect": "Allow", "Principal": "*", "Action": "sns:Publish",
                             "Resource": topic, "Condition": {"Bool": {"aws:SecureTransport": "true"}}})
    _set(r, "policy", json.dumps(doc))


def m_job_deletes_in_an_undeclared_zone(rs):
    """The gold job's role may delete raw objects, which its pipeline never declares it writes."""
    job = _of(rs, T.GLUE_JOB, lambda r: "gold" in str(r.inputs.get("tags", {}).get("lakehouse:writes", "")))
    raw = job.inputs["defaultArguments"].get("--raw_path") or next(
        j.inputs["defaultArguments"]["--raw_path"] for j in rs if j.type == T.GLUE_JOB
        and "--raw_path" in j.inputs["defaultArguments"])
    role = job.property_dependencies["roleArn"][0]
    r = _of(rs, T.IAM_ROLE_POLICY, lambda p: role in p.property_dependencies.get("role", []))
    doc = _doc(r)
    doc["Statement"].append({"Sid": "CleanUpRaw", "Effect": "Allow", "Action": "s3:DeleteObject",
                             "Resource": "arn:aws:s3:::" + raw.removeprefix("s3://") + "*"})
    _set(r, "policy", json.dumps(doc))

# --- issue 17: controls the stack set that nothing enforced ------------------------------------

def m_bucket_versioning_suspended(rs):
    _set(_of(rs, T.S3_VERSIONING), "versioningConfiguration", {"status": "Suspended"})


def m_bucket_acls_enabled(rs):
    _set(_of(rs, T.S3_OWNERSHIP_CONTROLS), "rule", {"objectOwnership": "ObjectWriter"})


def m_bucket_public_acl(rs):
    bucket = _of(rs, T.S3_BUCKET)
    rs.append(Resource(type=T.S3_ACL, name="public-acl", urn=f"urn:pulumi:prod::glue-lakehouse::{T.S3_ACL}::public-acl",
                       inputs={"bucket": bucket.inputs["bucket"], "acl": "public-read"}))


def m_bucket_policy_without_tls_deny(rs):
    r = _of(rs, T.S3_BUCKET_POLICY, lambda r: "S3ServerAccessLogDelivery" in r.inputs["policy"])
    doc = _doc(r)
    doc["Statement"] = [st for st in doc["Statement"] if st.get("Sid") != "DenyInsecureTransport"]
    _set(r, "policy", json.dumps(doc))


def m_bucket_access_logging_removed(rs):
    rs.remove(_of(rs, T.S3_LOGGING))


def m_key_short_deletion_window(rs):
    _set(_of(rs, T.KMS_KEY), "deletionWindowInDays", 7)


def m_rds_secret_aws_managed_key(rs):
    _set(_of(rs, T.RDS_INSTANCE), "masterUserSecretKmsKeyId", "alias/aws/secretsmanager")


def m_trigger_invalid_schedule(rs):
    _set(_of(rs, T.GLUE_TRIGGER, lambda r: r.inputs.get("type") == "SCHEDULED"), "schedule", "cron(0 25 * * ? *)")


def m_gold_table_without_ruleset(rs):
    """The ruleset of gold.cms_facility_monthly is gone; the gold job still writes the table."""
    rs.remove(_of(rs, T.GLUE_DATA_QUALITY_RULESET,
                  lambda r: r.inputs["tags"].get("lakehouse:table") == "gold.cms_facility_monthly"))


def m_trigger_starts_another_stack_job(rs):
    _set(_of(rs, T.GLUE_TRIGGER), "actions", [{"jobName": "lakehouse-staging-fhir-bronze"}])


def m_workflow_unbounded_runs(rs):
    _drop(_of(rs, T.GLUE_WORKFLOW), "maxConcurrentRuns")


def m_event_rule_any_source(rs):
    r = _of(rs, T.EVENT_RULE)
    pattern = json.loads(r.inputs["eventPattern"])
    del pattern["source"]
    _set(r, "eventPattern", json.dumps(pattern))


def m_event_target_workflow_without_role(rs):
    workflow = _of(rs, T.GLUE_WORKFLOW)
    account = KEY_ARN.split(":")[4]
    _set(_of(rs, T.EVENT_TARGET), "arn", f"arn:aws:glue:us-east-1:{account}:workflow/{workflow.inputs['name']}")


def m_flow_log_rejects_only(rs):
    _set(_of(rs, T.EC2_FLOW_LOG), "trafficType", "REJECT")


def m_endpoint_full_access(rs):
    _drop(_of(rs, T.EC2_VPC_ENDPOINT), "policy")


def m_default_security_group_rule(rs):
    _set(_of(rs, T.EC2_DEFAULT_SECURITY_GROUP), "ingress",
         [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}])


def m_workgroup_not_enforced(rs):
    wg = _of(rs, "aws:athena/workgroup:Workgroup")
    _set(wg, "configuration", {**copy.deepcopy(wg.inputs["configuration"]), "enforceWorkgroupConfiguration": False})


def m_analyst_reads_silver(rs):
    policy = _of(rs, T.IAM_ROLE_POLICY, lambda r: r.name == "analytics-analyst-policy")
    doc = _doc(policy)
    doc["Statement"].append({"Sid": "Silver", "Effect": "Allow", "Action": "glue:GetTable",
                             "Resource": "arn:aws:glue:us-east-1:123456789012:table/lakehouse_prod_silver/patients"})
    _set(policy, "policy", json.dumps(doc))


def m_alarm_without_ok_action(rs):
    alarm = _of(rs, T.METRIC_ALARM)
    _drop(alarm, "okActions")
    alarm.property_dependencies.pop("okActions", None)  # an input never set depends on nothing


def m_rds_cpu_alarm_removed(rs):
    cpu = _of(rs, T.METRIC_ALARM, lambda r: r.inputs.get("metricName") == "CPUUtilization")
    rs.remove(cpu)


def m_crawler_deletes_from_catalog(rs):
    crawler = _of(rs, T.GLUE_CRAWLER)
    _set(crawler, "schemaChangePolicy", {"updateBehavior": "LOG", "deleteBehavior": "DELETE_FROM_DATABASE"})


def m_state_machine_logging_off(rs):
    machine = _of(rs, T.SFN_STATE_MACHINE)
    _set(machine, "loggingConfiguration", {**copy.deepcopy(machine.inputs["loggingConfiguration"]), "level": "OFF"})


def m_state_machine_tracing_off(rs):
    _set(_of(rs, T.SFN_STATE_MACHINE), "tracingConfiguration", {"enabled": False})


def m_state_machine_aws_owned_key(rs):
    _set(_of(rs, T.SFN_STATE_MACHINE), "encryptionConfiguration", {"type": "AWS_OWNED_KEY"})


def m_state_machine_runs_any_stack_job(rs):
    policy, doc, st = _identity_policy(rs, lambda st: st.get("Sid") == "RunPipelineJobs")
    st["Resource"] = "arn:aws:glue:us-east-1:123456789012:job/lakehouse-prod-*"
    _set(policy, "policy", json.dumps(doc))


def m_pipeline_without_table_maintenance(rs):
    """fhir's maintenance job is gone, with the workflow trigger that started it after gold."""
    rs.remove(_of(rs, T.GLUE_JOB, lambda r: r.inputs["name"] == "lakehouse-prod-fhir-maintain"))
    rs.remove(_of(rs, T.GLUE_TRIGGER, lambda r: r.inputs["actions"] == [{"jobName": "lakehouse-prod-fhir-maintain"}]))


def m_retention_optimizer_on_checkpointed_table(rs):
    """The retention optimizer of bronze.orders_orders is pointed at fhir_patient, which silver reads
    incrementally from fhir_checkpoints (fhir's maintenance job: --checkpoints silver.fhir_checkpoints=bronze)."""
    _set(_of(rs, T.GLUE_TABLE_OPTIMIZER, lambda r: r.inputs["type"] == "retention"
             and r.inputs["tableName"] == "orders_orders"), "tableName", "fhir_patient")


def m_workflow_never_starts_maintenance(rs):
    """The job stays; the trigger that started it is gone (nothing in the workflow runs it)."""
    rs.remove(_of(rs, T.GLUE_TRIGGER, lambda r: r.inputs["actions"] == [{"jobName": "lakehouse-prod-fhir-maintain"}]))


def m_state_machine_skips_maintenance(rs):
    """orders' state machine goes from its last job straight to success, never running its maintenance job."""
    machine = _of(rs, T.SFN_STATE_MACHINE)
    definition = json.loads(machine.inputs["definition"])
    states = definition["States"]
    maintain = next(k for k, v in states.items() if v.get("Parameters", {}).get("JobName", "").endswith("-maintain"))
    for state in states.values():
        if state.get("Next") == maintain:
            state["Next"] = states[maintain]["Next"]
    del states[maintain]
    _set(machine, "definition", json.dumps(definition))


MAINTENANCE_EXPECTED = ("expected a Glue job running maintenance/maintain_tables.py for the pipeline, started after "
                        "its last jobs by the same orchestration")


@pytest.mark.parametrize("mutate, resource, message", [
    (m_pipeline_without_table_maintenance, "fhir",
     "pipeline 'fhir' writes Iceberg tables (Glue jobs 'lakehouse-prod-fhir-bronze', 'lakehouse-prod-fhir-gold', "
     f"'lakehouse-prod-fhir-silver') and has no table-maintenance job; {MAINTENANCE_EXPECTED}"),
    (m_workflow_never_starts_maintenance, "fhir",
     "pipeline 'fhir' writes Iceberg tables (Glue jobs 'lakehouse-prod-fhir-bronze', 'lakehouse-prod-fhir-gold', "
     "'lakehouse-prod-fhir-silver') but Glue workflow 'lakehouse-prod-fhir' starts none of its table-maintenance "
     f"jobs ('lakehouse-prod-fhir-maintain'); {MAINTENANCE_EXPECTED}"),
    (m_state_machine_skips_maintenance, "orders",
     "pipeline 'orders' writes Iceberg tables (Glue jobs 'lakehouse-prod-orders-extract', "
     "'lakehouse-prod-orders-load', 'lakehouse-prod-orders-transform') but state machine 'lakehouse-prod-orders' "
     f"starts none of its table-maintenance jobs ('lakehouse-prod-orders-maintain'); {MAINTENANCE_EXPECTED}"),
], ids=["job-removed", "workflow-never-starts-it", "state-machine-skips-it"])
def test_a_pipeline_without_orchestrated_table_maintenance_is_named(prod_resources, mutate, resource, message):
    resources = copy.deepcopy(prod_resources)
    mutate(resources)
    found = evaluate(resources, PROD_CONFIG)
    assert [(v.policy, v.resource_name, v.message) for v in found] == [
        ("aws-glue-pipeline-require-table-maintenance", resource, message)]


def test_a_retention_optimizer_on_a_checkpointed_table_is_named(prod_resources):
    resources = copy.deepcopy(prod_resources)
    m_retention_optimizer_on_checkpointed_table(resources)
    assert [(v.policy, v.resource_name, v.message) for v in evaluate(resources, PROD_CONFIG)] == [(
        "aws-glue-table-optimizer-retention-keeps-checkpoints", "table-optimizers-bronze-orders-orders-retention",
        "retention table optimizer on lakehouse_prod_bronze.fhir_patient, which Glue job "
        "'lakehouse-prod-fhir-maintain' declares checkpointed (--checkpoints): it would expire snapshots an "
        "incremental read still needs; expected no retention optimizer there (the maintenance job keeps every "
        "checkpointed snapshot)")]


MUTATIONS = [
    ("crawler-deletes-from-catalog", "aws-glue-crawler-schema-change-never-deletes", m_crawler_deletes_from_catalog),
    ("state-machine-logging-off", "aws-sfn-state-machine-enable-logging", m_state_machine_logging_off),
    ("state-machine-tracing-off", "aws-sfn-state-machine-enable-tracing", m_state_machine_tracing_off),
    ("state-machine-aws-owned-key", "aws-sfn-state-machine-enable-cmk", m_state_machine_aws_owned_key),
    ("state-machine-runs-any-stack-job", "aws-sfn-state-machine-role-scope-actions",
     m_state_machine_runs_any_stack_job),
    ("alarm-without-ok-action", "aws-cloudwatch-metric-alarm-notify-stack-topic", m_alarm_without_ok_action),
    ("rds-cpu-alarm-removed", "aws-cloudwatch-rds-instance-require-alarms", m_rds_cpu_alarm_removed),
    ("workgroup-not-enforced", "aws-athena-workgroup-enforce-configuration", m_workgroup_not_enforced),
    ("analyst-reads-silver", "aws-iam-analyst-role-reads-gold-only", m_analyst_reads_silver),
    ("drop-a-tag", "aws-resource-require-tags", m_drop_tag),
    ("environment-tag-of-another-stack", "aws-resource-environment-tag-matches-stack", m_environment_tag),
    ("bucket-aes256", "aws-s3-bucket-enable-sse-kms-customer-key", m_bucket_aes256),
    ("bucket-without-encryption", "aws-s3-bucket-enable-sse-kms-customer-key", m_bucket_without_encryption),
    ("key-rotation-off", "aws-kms-key-enable-rotation", m_key_rotation_off),
    ("key-policy-wildcard-principal", "aws-kms-key-disallow-wildcard-principal", m_key_policy_wildcard_principal),
    ("security-configuration-sse-s3", "aws-glue-security-configuration-enable-kms", m_security_configuration_sse_s3),
    ("job-without-security-configuration", "aws-glue-require-security-configuration",
     m_job_without_security_configuration),
    ("catalog-passwords-unencrypted", "aws-glue-catalog-enable-encryption", m_catalog_passwords_unencrypted),
    ("widen-to-s3-star", "aws-iam-disallow-wildcard-actions", m_widen_to_s3_star),
    ("data-action-on-star", "aws-iam-disallow-wildcard-resources", m_data_action_on_star),
    ("attach-administrator-access", "aws-iam-disallow-broad-managed-policies", m_attach_administrator_access),
    ("trust-another-account", "aws-iam-role-restrict-trust-principals", m_trust_any_account),
    ("pass-any-role", "aws-iam-scope-pass-role", m_pass_any_role),
    ("typo-in-action", "aws-iam-policy-lint-parliament", m_typo_in_action),
    ("public-access-block-off", "aws-s3-bucket-configure-public-access-block", m_public_access_block_off),
    ("public-bucket-policy", "aws-s3-bucket-policy-disallow-public-principal", m_public_bucket_policy),
    ("rds-public", "aws-rds-instance-disallow-public-access", m_rds_public),
    ("rds-unencrypted", "aws-rds-instance-enable-storage-encryption", m_rds_unencrypted),
    ("rds-short-backups", "aws-rds-instance-configure-backup-retention", m_rds_short_backups),
    ("rds-single-az", "aws-rds-instance-enable-multi-az", m_rds_single_az),
    ("rds-no-deletion-protection", "aws-rds-instance-enable-deletion-protection", m_rds_no_deletion_protection),
    ("open-security-group", "aws-ec2-security-group-disallow-public-ingress", m_open_security_group),
    ("connection-without-ssl", "aws-glue-connection-enforce-ssl", m_connection_without_ssl),
    ("old-glue-version", "aws-glue-job-allowed-glue-version", m_old_glue_version),
    ("long-timeout", "aws-glue-job-configure-timeout", m_long_timeout),
    ("too-many-workers", "aws-glue-job-limit-workers", m_too_many_workers),
    ("continuous-logging-off", "aws-glue-job-enable-continuous-logging", m_continuous_logging_off),
    ("glue5-log-prefix-dropped", "aws-glue-job-configure-custom-log-group-prefix", m_glue5_log_prefix_dropped),
    ("log-group-short-retention", "aws-cloudwatch-log-group-configure-retention", m_log_group_short_retention),
    ("log-group-unencrypted", "aws-cloudwatch-log-group-enable-kms", m_log_group_unencrypted),
    ("topic-unencrypted", "aws-sns-topic-enable-kms", m_topic_unencrypted),
    ("secret-aws-managed-key", "aws-secretsmanager-secret-enable-cmk", m_secret_aws_managed_key),
    ("kms-endpoint-removed", "aws-glue-connection-services-reachable", m_kms_endpoint_removed),
    ("bucket-versioning-suspended", "aws-s3-bucket-enable-versioning", m_bucket_versioning_suspended),
    ("bucket-acls-enabled", "aws-s3-bucket-disable-acls", m_bucket_acls_enabled),
    ("bucket-public-acl", "aws-s3-bucket-acl-disallow-public", m_bucket_public_acl),
    ("bucket-policy-without-tls-deny", "aws-s3-bucket-policy-require-tls", m_bucket_policy_without_tls_deny),
    ("bucket-access-logging-removed", "aws-s3-bucket-enable-access-logging", m_bucket_access_logging_removed),
    ("key-short-deletion-window", "aws-kms-key-configure-deletion-window", m_key_short_deletion_window),
    ("rds-secret-aws-managed-key", "aws-rds-instance-enable-managed-master-password", m_rds_secret_aws_managed_key),
    ("trigger-invalid-schedule", "aws-glue-trigger-configure-valid-schedule", m_trigger_invalid_schedule),
    ("trigger-starts-another-stack-job", "aws-glue-trigger-start-stack-jobs", m_trigger_starts_another_stack_job),
    ("workflow-unbounded-runs", "aws-glue-workflow-limit-concurrent-runs", m_workflow_unbounded_runs),
    ("gold-table-without-ruleset", "aws-glue-gold-table-require-data-quality-ruleset", m_gold_table_without_ruleset),
    ("event-rule-any-source", "aws-eventbridge-rule-restrict-event-pattern", m_event_rule_any_source),
    ("event-target-workflow-without-role", "aws-eventbridge-target-require-role", m_event_target_workflow_without_role),
    ("flow-log-rejects-only", "aws-ec2-vpc-enable-flow-logs", m_flow_log_rejects_only),
    ("endpoint-full-access", "aws-ec2-vpc-endpoint-restrict-policy", m_endpoint_full_access),
    ("default-security-group-rule", "aws-ec2-vpc-default-security-group-restrict-all", m_default_security_group_rule),
    ("public-topic-policy", "aws-iam-resource-policy-disallow-public-principal", m_public_topic_policy),
    ("job-deletes-in-an-undeclared-zone", "aws-iam-job-role-restrict-writes-to-declared",
     m_job_deletes_in_an_undeclared_zone),
    ("pipeline-without-table-maintenance", "aws-glue-pipeline-require-table-maintenance",
     m_pipeline_without_table_maintenance),
    ("retention-optimizer-on-checkpointed-table", "aws-glue-table-optimizer-retention-keeps-checkpoints",
     m_retention_optimizer_on_checkpointed_table),
]


def test_there_is_a_mutation_for_every_policy():
    from policy.lakehouse_policies import policies_by_name

    assert len(MUTATIONS) >= 20
    assert {policy for _, policy, _ in MUTATIONS} == set(policies_by_name())


def test_prod_stack_is_clean_before_mutation(prod_resources):
    assert [_key(v) for v in evaluate(prod_resources, PROD_CONFIG)] == []


@pytest.mark.parametrize("policy, mutate", [(p, m) for _, p, m in MUTATIONS], ids=[i for i, _, _ in MUTATIONS])
def test_one_broken_property_is_reported_by_exactly_its_policy(prod_resources, policy, mutate):
    resources = copy.deepcopy(prod_resources)
    mutate(resources)
    found = evaluate(resources, PROD_CONFIG)
    assert Counter(v.policy for v in found) == Counter({policy: 1}), [(v.policy, v.resource_name, v.message)
                                                                      for v in found]
    assert found[0].level == "mandatory"


def test_tag_mutations_touch_only_taggable_resources(prod_resources):
    bucket = next(r for r in prod_resources if r.type == T.S3_BUCKET)
    assert is_taggable(bucket.type) and "Owner" in bucket.inputs["tags"]
