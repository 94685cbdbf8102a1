"""Every AWS resource of dev and prod, as the API requests the provider makes for it, checked against
botocore's service models: field names, types, required fields, enums, length limits and patterns.

A wrong worker type, a too-long name or a bad enum fails here, not in `pulumi up`. The mutation tests
show each kind of error is caught, named by resource, parameter path and the allowed values or limit.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest
from aws_requests import (
    BUILDERS,
    Ctx,
    _java_pattern,
    aws_resources,
    build_requests,
    doc_enum,
    input_shape,
    pattern_match,
    request_errors,
    resource_errors,
    stack_context,
)

from lakehouse.offline import evaluate_stack

STACKS = ("dev", "prod")
JOB = "aws:glue/job:Job"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
RDS = "aws:rds/instance:Instance"
ROLE = "aws:iam/role:Role"


@pytest.fixture(scope="module")
def stacks():
    return {name: evaluate_stack(name) for name in STACKS}


def errors_after(ev, type_: str, change: Callable[[dict], Any], name: str | None = None) -> tuple[str, list[str]]:
    """(the resource, the errors of its requests) after `change` edits a copy of its inputs."""
    # by name, not the first registered: the order of registration under the mocks varies between runs
    r = ev.get(type_, name) if name else min(ev.of_type(type_), key=lambda r: r.name)
    props = copy.deepcopy(r.props)
    change(props)
    return f"{r.type} {r.name}:", resource_errors(r.type, r.name, props, Ctx(r.name, r.id, **stack_context(ev)))


def test_every_aws_type_of_both_stacks_has_a_builder(stacks):
    types = {r.type for ev in stacks.values() for r in aws_resources(ev)}
    assert types <= set(BUILDERS), f"AWS types without a request builder: {sorted(types - set(BUILDERS))}"


def test_an_unknown_type_is_an_error():
    errors = resource_errors("aws:sqs/queue:Queue", "q", {})
    assert errors == ["aws:sqs/queue:Queue q: no request builder for this type"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_of_the_stack_makes_valid_requests(stacks, stack):
    ev = stacks[stack]
    assert len(aws_resources(ev)) >= 150  # the whole stack, not a part of it
    assert request_errors(ev) == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_input_of_the_stack_maps_to_a_request_field(stacks, stack):
    """No input is dropped silently: each one a builder reads (or skips as the provider's own)."""
    ev, ctx = stacks[stack], stack_context(stacks[stack])
    unread = {(r.type, r.name): build_requests(r.type, r.name, r.props, Ctx(r.name, r.id, **ctx))[1]
              for r in aws_resources(ev)}
    assert {k: v for k, v in unread.items() if v} == {}


def test_the_requests_carry_what_the_provider_sends(stacks):
    ev = stacks["prod"]
    job = ev.get(JOB, "fhir-silver")
    calls, _ = build_requests(job.type, job.name, job.props, Ctx(job.name, job.id, **stack_context(ev)))
    [(service, operation, params)] = calls
    assert (service, operation) == ("glue", "CreateJob")
    assert params["Name"] == "lakehouse-prod-fhir-silver" and params["WorkerType"] == "G.1X"
    assert params["NumberOfWorkers"] == 6 and isinstance(params["NumberOfWorkers"], int)  # pipelines/fhir.yaml
    assert params["ExecutionClass"] == "FLEX"
    assert params["Command"]["Name"] == "glueetl" and params["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    assert params["Tags"]["Stack"] == "prod"  # the provider's default tags merged in
    log = ev.of_type(LOG_GROUP)[0]
    calls, _ = build_requests(log.type, log.name, log.props, Ctx(log.name, log.id, **stack_context(ev)))
    assert [op for _, op, _ in calls] == ["CreateLogGroup", "PutRetentionPolicy"]
    flow = ev.one("aws:ec2/flowLog:FlowLog")
    calls, _ = build_requests(flow.type, flow.name, flow.props, Ctx(flow.name, flow.id, **stack_context(ev)))
    [(service, operation, params)] = calls
    assert (service, operation, params["ResourceType"], params["ResourceIds"]) == (
        "ec2", "CreateFlowLogs", "VPC", [ev.one("aws:ec2/vpc:Vpc").id])
    assert params["DeliverLogsPermissionArn"].endswith(":role/lakehouse-prod-vpc-flow-logs")


# ------------------------------------------------------------------------------ the checks can fail

def set_key(key: str, value: Any) -> Callable[[dict], None]:
    return lambda props: props.__setitem__(key, value)


# The resource a case edits, where the expected message depends on which (a tag count, a tag's index)
NAMED = {JOB: "fhir-bronze", ROLE: "fhir-bronze-role",
         "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "lake-raw-lifecycle"}


@pytest.mark.parametrize("type_, change, expected", [
    (JOB, set_key("workerType", "G.3X"),
     ["WorkerType: 'G.3X' is not one of the allowed values", "'G.1X'", "'G.2X'", "'R.1X'"]),
    (JOB, set_key("executionClass", "CHEAP"),
     ["ExecutionClass: 'CHEAP' is not one of the allowed values ['FLEX', 'STANDARD']"]),
    (JOB, set_key("name", "j" * 300), ["glue CreateJob: Name: length 300 is more than the maximum length 255"]),
    (JOB, set_key("glueVersion", "five"), ["GlueVersion: 'five' does not match the pattern"]),
    (JOB, lambda p: p["command"].__setitem__("pythonVersion", "3.11"),
     ["Command.PythonVersion: '3.11' does not match the pattern '^([2-3]|3[.]9)$'"]),
    (JOB, lambda p: p["tags"].update({f"k{i}": "v" for i in range(50)}),
     ["Tags: 58 entries, more than the maximum 50"]),  # the 7 stack tags, lakehouse:writes and 50 more
    (JOB, lambda p: p["tags"].__setitem__("Owner", "x" * 257),
     ["Tags['Owner']: length 257 is more than the maximum length 256"]),
    (JOB, set_key("numberOfWorkers", 2.5), ["Invalid type for parameter NumberOfWorkers, value: 2.5"]),
    (JOB, lambda p: p.pop("roleArn"), ['Missing required parameter in input: "Role"']),
    (JOB, set_key("maxCapasity", 4), ["input maxCapasity is mapped to no request field"]),
    (LOG_GROUP, set_key("retentionInDays", 4.0),
     ["logs PutRetentionPolicy: retentionInDays: 4 is not one of the allowed values [1, 3, 5, 7, 14, 30,"]),
    (LOG_GROUP, set_key("name", "/aws-glue/jobs/with space"),
     ["logGroupName: '/aws-glue/jobs/with space' does not match"]),
    (RDS, set_key("storageType", "gp4"),
     ["rds CreateDBInstance: StorageType: 'gp4' is not one of the allowed values "
      "['gp2', 'gp3', 'io1', 'io2', 'standard']"]),
    (ROLE, set_key("name", "r" * 65), ["iam CreateRole: RoleName: length 65 is more than the maximum length 64"]),
    (ROLE, lambda p: p["tags"].__setitem__("Cost,Center", "x"), ["Tags[7].Key: 'Cost,Center' does not match"]),
    ("aws:iam/rolePolicy:RolePolicy", set_key("role", "arn:aws:iam::123456789012:role/lakehouse-prod-fhir-gold"),
     ["iam PutRolePolicy: RoleName: 'arn:aws:iam::123456789012:role/lakehouse-prod-fhir-gold' does not match"]),
    ("aws:glue/trigger:Trigger", set_key("type", "SCHEDULE"),
     ["Type: 'SCHEDULE' is not one of the allowed values ['CONDITIONAL', 'EVENT', 'ON_DEMAND', 'SCHEDULED']"]),
    ("aws:glue/connection:Connection", lambda p: p["connectionProperties"].__setitem__("JDBC_ENFORCE_TLS", "true"),
     ["ConnectionInput.ConnectionProperties key 'JDBC_ENFORCE_TLS': 'JDBC_ENFORCE_TLS' is not one of the allowed "
      "values", "'JDBC_ENFORCE_SSL'"]),
    ("aws:cloudwatch/eventRule:EventRule", set_key("state", "ON"),
     ["events PutRule: State: 'ON' is not one of the allowed values"]),
    ("aws:kms/alias:Alias", set_key("name", "alias/lake key"), ["AliasName: 'alias/lake key' does not match"]),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", set_key("comparisonOperator", "Above"),
     ["cloudwatch PutMetricAlarm: ComparisonOperator: 'Above' is not one of the allowed values"]),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", set_key("treatMissingData", "x" * 256),
     ["cloudwatch PutMetricAlarm: TreatMissingData: length 256 is more than the maximum length 255"]),
    ("aws:cloudwatch/dashboard:Dashboard", set_key("dashboardBody", None),
     ['cloudwatch PutDashboard: Missing required parameter in input: "DashboardBody"']),
    ("aws:ec2/flowLog:FlowLog", set_key("trafficType", "EVERYTHING"),
     ["ec2 CreateFlowLogs: TrafficType: 'EVERYTHING' is not one of the allowed values ['ACCEPT', 'ALL', 'REJECT']"]),
    ("aws:ec2/flowLog:FlowLog", set_key("logDestinationType", "cloudwatch"),
     ["LogDestinationType: 'cloudwatch' is not one of the allowed values"]),
    ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
     lambda p: p["rules"][-1]["transitions"][1].__setitem__("storageClass", "GLACIER_INSTANT"),
     ["LifecycleConfiguration.Rules[1].Transitions[1].StorageClass: 'GLACIER_INSTANT' is not one of the allowed "
      "values", "'GLACIER_IR'"]),
    ("aws:glue/securityConfiguration:SecurityConfiguration",
     lambda p: p["encryptionConfiguration"]["s3Encryption"].__setitem__("s3EncryptionMode", "SSE-KMS-DSSE"),
     ["EncryptionConfiguration.S3Encryption[0].S3EncryptionMode: 'SSE-KMS-DSSE' is not one of the allowed values "
      "['DISABLED', 'SSE-KMS', 'SSE-S3']"]),
])
def test_a_bad_input_fails_naming_resource_field_and_limit(stacks, type_, change, expected):
    ev = stacks["prod"]
    resource, errors = errors_after(ev, type_, change, NAMED.get(type_))
    assert errors, f"{resource} no error"
    assert all(e.startswith(resource) for e in errors), errors
    assert any(all(part in e for part in expected) for e in errors), errors


def test_a_retention_of_3_days_is_valid(stacks):
    """3 is one of CloudWatch Logs' retention values (1, 3, 5, 7, 14, ...): only an unlisted one fails."""
    assert errors_after(stacks["dev"], LOG_GROUP, set_key("retentionInDays", 3.0))[1] == []


def test_a_missing_script_asset_fails(stacks):
    r = stacks["dev"].of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    script = next(o for o in r if "source" in o.props)
    props = {**script.props, "source": {"fileAsset": "/nonexistent/job.py"}}
    with pytest.raises(FileNotFoundError):
        build_requests(script.type, script.name, props)


# ------------------------------------------------------------------------ the validator's own rules

def test_java_patterns_are_translated():
    tag = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+"  # IAM's tag keys: Unicode letters, separators and numbers
    assert pattern_match(tag, "Coût Centre 1") and pattern_match(tag, "データ")
    assert not pattern_match(tag, "a,b") and not pattern_match(tag, "a;b")
    glue_text = r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*"  # UTF-16 pairs: the supplementary planes
    assert pattern_match(glue_text, "emoji \U0001F600\tok")
    assert not pattern_match(glue_text, "two\nlines")
    assert not pattern_match(r"[\w+=,.@-]+", "arn:aws:iam::1:role/x")  # fullmatch: not a search


def test_every_pattern_of_the_requests_compiles(stacks):
    """A Java construct not translated yet fails here, not silently as a non-match."""
    ops = {(s, op) for ev in stacks.values() for r in aws_resources(ev)
           for s, op, _ in build_requests(r.type, r.name, r.props, Ctx(r.name, r.id))[0]}
    patterns, seen = set(), set()

    def walk(shape, service):
        if (service, shape.name) in seen:  # shapes are recursive
            return
        seen.add((service, shape.name))
        if "pattern" in shape.metadata:
            patterns.add(shape.metadata["pattern"])
        members = {"structure": lambda: shape.members.values(), "list": lambda: [shape.member],
                   "map": lambda: [shape.key, shape.value]}.get(shape.type_name, lambda: [])()
        for member in members:
            walk(member, service)

    for service, operation in ops:
        walk(input_shape(service, operation), service)
    assert len(ops) >= 40 and len(patterns) >= 20
    for pattern in patterns:
        _java_pattern(pattern)


def test_documented_enums_are_found_in_the_models():
    """The two fields whose allowed values the models give only in prose: parsed, not typed in here."""
    assert doc_enum("rds", "CreateDBInstance", "StorageType") == ("gp2", "gp3", "io1", "io2", "standard")
    retention = doc_enum("logs", "PutRetentionPolicy", "retentionInDays")
    assert {1, 3, 7, 365, 3653} <= set(retention) and 4 not in retention and len(retention) >= 20


# ------------------------------------------------------- table optimizers (tableOptimizers, empty in both stacks)

OPTIMIZER = "aws:glue/catalogTableOptimizer:CatalogTableOptimizer"


@pytest.fixture(scope="module")
def optimized_prod():
    """prod with Glue table optimizers on existing tables: a checkpointed bronze table and two others."""
    from lakehouse.model.config import stack_file_values

    values = stack_file_values("prod")
    values["glue-lakehouse:tableOptimizers"] = ["bronze.fhir_patient", "silver.encounters", "gold.dq_results"]
    return evaluate_stack("prod", values)


def test_table_optimizers_make_valid_create_table_optimizer_requests(optimized_prod):
    ev = optimized_prod
    assert request_errors(ev) == []
    requests = {}
    for r in ev.of_type(OPTIMIZER):
        calls, unread = build_requests(r.type, r.name, r.props, Ctx(r.name, r.id, **stack_context(ev)))
        [(service, operation, params)] = calls
        assert (service, operation, unread) == ("glue", "CreateTableOptimizer", [])
        requests[(params["TableName"], params["Type"])] = params
    assert sorted(requests) == sorted([(t, k) for t in ("fhir_patient", "encounters", "dq_results")
                                       for k in ("compaction", "orphan_file_deletion")]
                                      + [("encounters", "retention"), ("dq_results", "retention")])
    retention = requests[("encounters", "retention")]
    assert retention["DatabaseName"] == "lakehouse_prod_silver" and retention["CatalogId"] == "123456789012"
    assert retention["TableOptimizerConfiguration"]["retentionConfiguration"]["icebergConfiguration"][
        "snapshotRetentionPeriodInDays"] == 7


@pytest.mark.parametrize("change, expected", [
    (set_key("type", "expiry"),
     ["glue CreateTableOptimizer: Type: 'expiry' is not one of the allowed values",
      "'compaction'", "'orphan_file_deletion'", "'retention'"]),
    (lambda p: p["configuration"]["compactionConfiguration"]["icebergConfiguration"].__setitem__("strategy", "merge"),
     ["TableOptimizerConfiguration.compactionConfiguration.icebergConfiguration.strategy: 'merge' is not one of"]),
    (lambda p: p["configuration"].pop("roleArn") and p["configuration"].__setitem__("roleArn", "short"),
     ["TableOptimizerConfiguration.roleArn, value: 5, valid min length: 20"]),
    (lambda p: p.pop("tableName"), ['Missing required parameter in input: "TableName"']),
    (lambda p: p["configuration"].__setitem__("vpcConfig", {}), ["input configuration.vpcConfig is mapped to no"]),
])
def test_a_bad_table_optimizer_input_fails(optimized_prod, change, expected):
    resource, errors = errors_after(optimized_prod, OPTIMIZER, change, "table-optimizers-silver-encounters-compaction")
    assert errors and all(e.startswith(resource) for e in errors), errors
    assert any(all(part in e for part in expected) for e in errors), errors
