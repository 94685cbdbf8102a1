"""GlueJob under the SDK's mocks: role and policy, script, log group, job settings and arguments, alerts."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from component_support import ACCOUNT, CTX, FIXTURES, REGION, lake_names_fixture, run, settings

from components.glue_job import GlueJob, GlueJobArgs, job_grant
from lakehouse.model.errors import ConfigError
from lakehouse.model.iam import glue_trust_policy, job_role_policy
from lakehouse.model.names import JobNames
from lakehouse.model.packaging import script_key
from lakehouse.model.pipelines import Access, JobSpec, parse_pipeline
from lakehouse.model.platform import (
    CONNECTION_ARGUMENT,
    MANAGED_ARGUMENTS,
    LakeLocation,
    declared_argument_problem,
    deployed_arguments,
    iceberg_conf,
    job_arguments,
    platform_arguments,
)

NAMES = lake_names_fixture()
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:lh-test-alerts"
LIB_KEY = "lib/demolib-0123456789abcdef.zip"
LIB_URI = f"s3://{NAMES.buckets['scripts']}/{LIB_KEY}"
CA_KEY = "certs/fedcba9876543210/rds-ca-bundle.pem"
CA_URI = f"s3://{NAMES.buckets['scripts']}/{CA_KEY}"
CA_OBJECT = f"{NAMES.buckets['scripts']}/{CA_KEY}"
ON_CONNECTION = {"ca_bundle_key": CA_KEY, "ca_bundle_uri": CA_URI}  # what the program gives a job on a connection
JOB = JobSpec(
    pipeline="demo", name="enrich", script="demo/enrich.py", description="Enrich demo events",
    reads=(Access("raw", prefixes=("demo/",)), Access("bronze", tables=("events",))),
    writes=(Access("silver", tables=("events_clean",)),),
    arguments={"--threshold": "3"},
)
JN = JobNames(job="lh-test-demo-enrich", role="lh-test-demo-enrich", log_group="/aws-glue/jobs/lh-test-demo-enrich",
              failure_rule="lh-test-demo-enrich-failed", delay_rule="lh-test-demo-enrich-late",
              temp_prefix="lh-test-demo-enrich/",
              spark_ui_prefix="spark-ui/lh-test-demo-enrich/", lake_key_alias=NAMES.key_alias)


def job_args(**overrides) -> GlueJobArgs:
    base = dict(job=JOB, settings=settings(), names=JN, aws=CTX, buckets=NAMES.buckets, databases=NAMES.databases,
                kms_key_arn=KEY, security_configuration="lh-test-jobs", library_key=LIB_KEY, library_uri=LIB_URI,
                alerts_topic_arn=TOPIC, log_retention_days=14, script_path=FIXTURES / "demo_job.py")
    return GlueJobArgs(**{**base, **overrides})


def evaluate(**overrides):
    return run(lambda: GlueJob("demo-enrich", job_args(**overrides)))


@pytest.fixture(scope="module")
def ev():
    return evaluate()


def bucket(role: str) -> str:
    return NAMES.buckets[role]


SCRIPT_KEY = script_key("demo", "demo/enrich.py", (FIXTURES / "demo_job.py").read_bytes())

EXPECTED_ARGUMENTS = {
    "--job-language": "python",
    "--enable-glue-datacatalog": "true",
    "--custom-logGroup-prefix": "/aws-glue/jobs/lh-test-demo-enrich",
    "--enable-metrics": "true",
    "--enable-observability-metrics": "true",
    "--enable-spark-ui": "true",
    "--spark-event-logs-path": f"s3://{bucket('logs')}/spark-ui/lh-test-demo-enrich/",
    "--TempDir": f"s3://{bucket('temp')}/lh-test-demo-enrich/",
    "--job-bookmark-option": "job-bookmark-disable",
    "--enable-auto-scaling": "false",
    "--datalake-formats": "iceberg",
    "--conf": (
        "spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
        " --conf spark.sql.catalog.glue_catalog=org.apache.iceberg.spark.SparkCatalog"
        f" --conf spark.sql.catalog.glue_catalog.warehouse=s3://{bucket('silver')}/"
        " --conf spark.sql.catalog.glue_catalog.catalog-impl=org.apache.iceberg.aws.glue.GlueCatalog"
        " --conf spark.sql.catalog.glue_catalog.io-impl=org.apache.iceberg.aws.s3.S3FileIO"
    ),
    "--extra-py-files": LIB_URI,
    "--pipeline": "demo",
    "--job": "enrich",
    "--catalog": "glue_catalog",
    "--raw_path": f"s3://{bucket('raw')}/",
    "--bronze_path": f"s3://{bucket('bronze')}/",
    "--bronze_database": "lh_test_bronze",
    "--silver_path": f"s3://{bucket('silver')}/",
    "--silver_database": "lh_test_silver",
    "--threshold": "3",
}
# Glue 4.0 logs only with continuous logging, into the job's own group; Glue 5.0 logs in real time.
GLUE4_ARGUMENTS = {
    **{k: v for k, v in EXPECTED_ARGUMENTS.items() if k != "--custom-logGroup-prefix"},
    "--enable-continuous-cloudwatch-log": "true",
    "--enable-continuous-log-filter": "true",
    "--continuous-log-logGroup": "/aws-glue/jobs/lh-test-demo-enrich",
}
GLUE4_LOG_GROUPS = {
    "demo-enrich-logs": "/aws-glue/jobs/lh-test-demo-enrich",
    "demo-enrich-logs-secured": "/aws-glue/jobs/lh-test-demo-enrich-lh-test-jobs",
    "demo-enrich-logs-output": "/aws-glue/jobs/lh-test-jobs-role/lh-test-demo-enrich/output",
    "demo-enrich-logs-error": "/aws-glue/jobs/lh-test-jobs-role/lh-test-demo-enrich/error",
}
GLUE5_LOG_GROUPS = {  # <--custom-logGroup-prefix>/error and /output: where Glue 5.0 writes
    "demo-enrich-logs-error": "/aws-glue/jobs/lh-test-demo-enrich/error",
    "demo-enrich-logs-output": "/aws-glue/jobs/lh-test-demo-enrich/output",
}


def test_the_job_runs_glue_5_with_its_settings_security_configuration_and_arguments(ev):
    job = ev.get("aws:glue/job:Job", "demo-enrich").inputs
    role = ev.get("aws:iam/role:Role", "demo-enrich-role")
    assert job["defaultArguments"] == EXPECTED_ARGUMENTS
    assert {k: v for k, v in job.items() if k not in ("defaultArguments", "tags")} == {
        "name": "lh-test-demo-enrich",
        "description": "Enrich demo events",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/lh-test-demo-enrich",
        "glueVersion": "5.0",
        "command": {"name": "glueetl", "pythonVersion": "3",
                    "scriptLocation": f"s3://{bucket('scripts')}/{SCRIPT_KEY}"},
        "workerType": "G.1X",
        "numberOfWorkers": 2,
        "timeout": 60,
        "maxRetries": 0,
        "executionClass": "FLEX",
        "executionProperty": {"maxConcurrentRuns": 1},
        "notificationProperty": {"notifyDelayAfter": 15},
        "jobRunQueuingEnabled": True,
        "securityConfiguration": "lh-test-jobs",
    }
    assert role.outputs["arn"] == job["roleArn"]


def test_the_job_waits_for_its_policy_log_group_and_script(ev):
    job = ev.get("aws:glue/job:Job", "demo-enrich")
    for type_, name in [("aws:iam/rolePolicy:RolePolicy", "demo-enrich-policy"),
                        ("aws:s3/bucketObjectv2:BucketObjectv2", "demo-enrich-script")] + [
            ("aws:cloudwatch/logGroup:LogGroup", group) for group in GLUE5_LOG_GROUPS]:
        assert ev.get(type_, name).urn in job.dependencies


def test_role_trusts_glue_only_and_carries_the_generated_least_privilege_policy(ev):
    role = ev.get("aws:iam/role:Role", "demo-enrich-role")
    assert set(role.inputs) == {"name", "description", "assumeRolePolicy"}  # no managed policies
    assert json.loads(role.inputs["assumeRolePolicy"]) == glue_trust_policy(CTX)
    policy = ev.get("aws:iam/rolePolicy:RolePolicy", "demo-enrich-policy")
    assert policy.inputs["role"] == role.id
    doc = json.loads(policy.inputs["policy"])
    assert doc == job_role_policy(CTX, job_grant(job_args(), SCRIPT_KEY))
    [key] = [st for st in doc["Statement"] if st["Sid"] == "UseLakeKey"]
    assert (key["Resource"], key["Condition"]) == (  # by alias: the key's ARN is unknown before it exists
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*",
        {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/lh-test-lake"},
         "StringEquals": {"kms:ViaService": [f"glue.{REGION}.amazonaws.com", f"s3.{REGION}.amazonaws.com"]}})
    resources = [r for st in doc["Statement"]
                 for r in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])]
    assert f"arn:aws:s3:::{bucket('scripts')}/{SCRIPT_KEY}" in resources
    assert f"arn:aws:s3:::{bucket('scripts')}/{LIB_KEY}" in resources
    assert f"arn:aws:s3:::{bucket('raw')}/demo/*" in resources
    assert f"arn:aws:s3:::{bucket('silver')}/events_clean/*" in resources
    assert f"arn:aws:glue:{REGION}:{ACCOUNT}:table/lh_test_bronze/events" in resources


def test_script_is_uploaded_under_its_content_hash_encrypted(ev):
    script = ev.get("aws:s3/bucketObjectv2:BucketObjectv2", "demo-enrich-script").inputs
    assert script == {
        "bucket": bucket("scripts"), "key": SCRIPT_KEY, "source": {"fileAsset": str(FIXTURES / "demo_job.py")},
        "contentType": "text/x-python", "serverSideEncryption": "aws:kms", "kmsKeyId": KEY, "bucketKeyEnabled": True,
    }


def _log_groups_and_grant(ev) -> tuple[dict[str, dict], list[str]]:
    groups = {g.name: g.inputs for g in ev.of_type("aws:cloudwatch/logGroup:LogGroup")}
    policy = json.loads(ev.get("aws:iam/rolePolicy:RolePolicy", "demo-enrich-policy").inputs["policy"])
    [logs] = [st for st in policy["Statement"] if st["Sid"] == "WriteOwnLogGroups"]
    return groups, logs["Resource"]


def _arns(names) -> list[str]:
    return sorted(f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{g}:*" for g in names)


def test_a_glue_5_job_gets_exactly_the_log_groups_glue_writes_encrypted_with_retention(ev):
    groups, granted = _log_groups_and_grant(ev)
    common = {"retentionInDays": 14, "kmsKeyId": KEY, "deletionProtectionEnabled": False}
    assert groups == {logical: {"name": name, **common} for logical, name in GLUE5_LOG_GROUPS.items()}
    assert granted == _arns(GLUE5_LOG_GROUPS.values())


def test_a_glue_4_job_keeps_continuous_logging_and_its_four_log_groups():
    ev = evaluate(settings=settings(glue_version="4.0"))
    job = ev.get("aws:glue/job:Job", "demo-enrich")
    assert (job.inputs["glueVersion"], job.inputs["defaultArguments"]) == ("4.0", GLUE4_ARGUMENTS)
    groups, granted = _log_groups_and_grant(ev)
    common = {"retentionInDays": 14, "kmsKeyId": KEY, "deletionProtectionEnabled": False}
    assert groups == {logical: {"name": name, **common} for logical, name in GLUE4_LOG_GROUPS.items()}
    assert granted == _arns(GLUE4_LOG_GROUPS.values())
    assert {ev.get("aws:cloudwatch/logGroup:LogGroup", g).urn for g in GLUE4_LOG_GROUPS} <= set(job.dependencies)
    assert len(ev) == 13


def test_failed_timed_out_errored_and_stopped_runs_alert_the_topic(ev):
    rule = ev.get("aws:cloudwatch/eventRule:EventRule", "demo-enrich-failed")
    assert rule.inputs["name"] == "lh-test-demo-enrich-failed" and rule.inputs["state"] == "ENABLED"
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.glue"], "detail-type": ["Glue Job State Change"],
        "detail": {"jobName": ["lh-test-demo-enrich"], "state": ["FAILED", "TIMEOUT", "ERROR", "STOPPED"]}}
    target = ev.get("aws:cloudwatch/eventTarget:EventTarget", "demo-enrich-failed")
    assert target.inputs == {"rule": "lh-test-demo-enrich-failed", "arn": TOPIC, "targetId": "job-alerts"}


def test_a_run_past_its_notify_delay_alerts_the_topic(ev):
    """notifyDelayMinutes makes Glue send a "Glue Job Run Status" event; before, no rule caught it."""
    rule = ev.get("aws:cloudwatch/eventRule:EventRule", "demo-enrich-late")
    assert rule.inputs["name"] == "lh-test-demo-enrich-late" and rule.inputs["state"] == "ENABLED"
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.glue"], "detail-type": ["Glue Job Run Status"], "detail": {"jobName": ["lh-test-demo-enrich"]}}
    target = ev.get("aws:cloudwatch/eventTarget:EventTarget", "demo-enrich-late")
    assert target.inputs == {"rule": "lh-test-demo-enrich-late", "arn": TOPIC, "targetId": "job-alerts"}


def test_every_child_is_parented_to_the_component(ev):
    component = ev.get("glue-lakehouse:components:GlueJob", "demo-enrich")
    assert len(ev) == 11
    assert all(r.parent == component.urn for r in ev if r is not component)


def test_standard_auto_scaling_without_spark_ui_in_prod():
    prod = evaluate(settings=settings(execution_class="STANDARD", worker_type="G.2X", number_of_workers=10,
                                      auto_scaling=True, spark_ui=False, timeout_minutes=120, max_retries=1,
                                      notify_delay_minutes=60, max_concurrent_runs=2, job_run_queuing=False),
                    protect=True)
    job = prod.get("aws:glue/job:Job", "demo-enrich").inputs
    assert (job["executionClass"], job["workerType"], job["numberOfWorkers"], job["timeout"], job["maxRetries"]) == (
        "STANDARD", "G.2X", 10, 120, 1)
    assert job["notificationProperty"] == {"notifyDelayAfter": 60}
    assert job["executionProperty"] == {"maxConcurrentRuns": 2} and job["jobRunQueuingEnabled"] is False
    assert job["defaultArguments"]["--enable-auto-scaling"] == "true"
    assert job["defaultArguments"]["--enable-spark-ui"] == "false"
    assert "--spark-event-logs-path" not in job["defaultArguments"]
    policy = prod.get("aws:iam/rolePolicy:RolePolicy", "demo-enrich-policy").inputs["policy"]
    assert "spark-ui/" not in policy
    assert {g.inputs["deletionProtectionEnabled"] for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup")} == {True}


# --- arguments the platform manages ----------------------------------------------------------

def test_every_default_argument_is_managed_or_comes_from_job_arguments():
    platform = platform_arguments(JOB, settings(), JN, NAMES.buckets, LIB_URI)
    assert set(platform) <= set(MANAGED_ARGUMENTS)
    with_connection = platform_arguments(JOB, settings(), JN, NAMES.buckets, LIB_URI, connection_name="c")
    assert set(with_connection) - set(platform) == {CONNECTION_ARGUMENT}
    assert set(with_connection) <= set(MANAGED_ARGUMENTS)
    declared = job_arguments(JOB, LakeLocation("glue_catalog", {z: f"s3://{bucket(z)}/" for z in
                                                                ("raw", "bronze", "silver", "gold")}, NAMES.databases))
    full = deployed_arguments(JOB, settings(), JN, NAMES.buckets, NAMES.databases, LIB_URI)
    assert set(full) == set(platform) | set(declared)
    assert set(platform).isdisjoint(declared)


@pytest.mark.parametrize("key", sorted(MANAGED_ARGUMENTS))
def test_a_declared_managed_argument_is_refused_by_the_declaration(key):
    declaration = {"name": "demo", "jobs": [{"name": "enrich", "script": "fhir/bronze.py",
                                             "reads": [{"zone": "raw", "prefixes": ["demo/"]}],
                                             "arguments": {key: "x"}}]}
    with pytest.raises(ConfigError) as e:
        parse_pipeline(declaration, "demo.yaml")
    # "no platform-managed argument (...)", or for --extra-files "no argument that loads code from outside ..."
    assert f"demo.yaml: jobs.enrich.arguments.{key}: got 'x'; allowed: {declared_argument_problem(key)}" \
        in e.value.problems


@pytest.mark.parametrize("key", sorted(MANAGED_ARGUMENTS))
def test_a_managed_argument_in_a_job_built_in_code_is_refused_by_the_component(key):
    job = replace(JOB, arguments={key: "x"})
    with pytest.raises(ConfigError) as e:
        deployed_arguments(job, settings(), JN, NAMES.buckets, NAMES.databases, LIB_URI)
    assert e.value.problems == [f"demo.enrich: arguments.{key}: got 'x'; allowed: {declared_argument_problem(key)}"]


def test_iceberg_conf_targets_the_glue_catalog():
    assert iceberg_conf("s3://b/").split(" --conf ") == [
        "spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        "spark.sql.catalog.glue_catalog=org.apache.iceberg.spark.SparkCatalog",
        "spark.sql.catalog.glue_catalog.warehouse=s3://b/",
        "spark.sql.catalog.glue_catalog.catalog-impl=org.apache.iceberg.aws.glue.GlueCatalog",
        "spark.sql.catalog.glue_catalog.io-impl=org.apache.iceberg.aws.s3.S3FileIO",
    ]


# --- connections (GlueRdsConnection supplies them) ---------------------------------------------

def test_a_job_declaring_a_connection_needs_one():
    with pytest.raises(ConfigError, match=r"demo.enrich: connection: got True; allowed: a Glue connection"):
        evaluate(job=replace(JOB, connection=True))


def test_a_connection_job_gets_the_connection_and_its_extra_statements_in_its_one_policy():
    extra = [{"Sid": "ReadConnection", "Effect": "Allow", "Action": "glue:GetConnection",
              "Resource": f"arn:aws:glue:{REGION}:{ACCOUNT}:connection/lh-test-postgres"},
             {"Sid": "ReadConnectionSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
              "Resource": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf"}]
    ev = evaluate(job=replace(JOB, connection=True), connections=["lh-test-postgres"], extra_statements=extra,
                  **ON_CONNECTION)
    job = ev.get("aws:glue/job:Job", "demo-enrich")
    assert job.inputs["connections"] == ["lh-test-postgres"]
    assert job.inputs["defaultArguments"] == {**EXPECTED_ARGUMENTS, "--connection_name": "lh-test-postgres",
                                              "--extra-files": CA_URI, "--jdbc_ca_file": "rds-ca-bundle.pem"}
    # known at preview: the job's one policy, ending with the connection's statements; the job waits for it
    (policy,) = ev.of_type("aws:iam/rolePolicy:RolePolicy")
    document = json.loads(policy.inputs["policy"])
    assert document == job_role_policy(
        CTX, job_grant(job_args(job=replace(JOB, connection=True), connections=["c"], **ON_CONNECTION), SCRIPT_KEY),
        *extra)
    assert document["Statement"][-2:] == extra
    # beyond the connection's statements, exactly one thing more than without a connection: reading the bundle
    without = job_role_policy(CTX, job_grant(job_args(), SCRIPT_KEY))
    read = {st["Sid"]: st for st in document["Statement"]}["ReadOwnScriptAndLibrary"]
    assert set(read["Resource"]) - set(without["Statement"][0]["Resource"]) == {f"arn:aws:s3:::{CA_OBJECT}"}
    assert read["Action"] == ["s3:GetObject"]
    assert document["Statement"][:-2] == [{**without["Statement"][0], "Resource": read["Resource"]},
                                          *without["Statement"][1:]]
    assert policy.urn in job.dependencies
    assert len(ev) == 11


def test_a_job_on_a_connection_needs_the_ca_bundle_and_only_it_gets_one():
    with pytest.raises(ConfigError, match=r"demo.enrich: ca_bundle: got None; allowed: the RDS CA bundle from the "
                                          r"program \(CaBundle\) for a job on a connection"):
        evaluate(job=replace(JOB, connection=True), connections=["lh-test-postgres"])
    with pytest.raises(ConfigError, match=r"demo.enrich: ca_bundle: got 's3://.*'; allowed: none: the job has no "
                                          r"connection"):
        evaluate(**ON_CONNECTION)
    assert job_grant(job_args(), SCRIPT_KEY).ca_bundle_key is None


def test_a_missing_script_is_refused():
    with pytest.raises(ConfigError,
                       match="demo.enrich: script: got '.*nope.py'; allowed: an existing Glue script file"):
        evaluate(script_path=FIXTURES / "nope.py")
