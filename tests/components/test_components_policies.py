"""The pure builders behind the components: IAM/key/bucket/topic documents, names, packaging, tags.

No mocks here: these functions return plain data. Each IAM document the program can
generate is linted with parliament.
"""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from component_support import CTX, FIXTURES, parliament_findings
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as hs

from components.tagging import is_taggable, standard_tags_transform, with_tags
from lakehouse.model.config import load_stack_config
from lakehouse.model.iam import (
    JobGrant,
    alerts_topic_policy,
    bucket_policy,
    glue_trust_policy,
    job_log_groups,
    job_role_policy,
    lake_key_policy,
    logs_bucket_policy,
)
from lakehouse.model.names import lake_names, name_problems
from lakehouse.model.packaging import content_hash, library_key, library_zip, script_key
from lakehouse.model.pipelines import Access
from lakehouse.model.zones import BUCKET_ROLES

ACCOUNT, REGION = CTX.account_id, CTX.region
BUCKETS = {r: f"lh-test-{r}-{ACCOUNT}" for r in BUCKET_ROLES}
DATABASES = {"bronze": "lh_test_bronze", "silver": "lh_test_silver", "gold": "lh_test_gold"}
JOB = "lh-test-fhir-silver"
SECCONF = "lh-test-jobs"


def grant(**overrides) -> JobGrant:
    base = dict(
        role_name=JOB,
        reads=(Access("bronze", tables=("fhir_patient",)), Access("raw", prefixes=("fhir/",))),
        writes=(Access("silver", tables=("patients", "encounters")),),
        buckets=BUCKETS, databases=DATABASES,
        script_key="scripts/fhir/silver-0123456789abcdef.py", library_key="lib/lakelib-fedcba9876543210.zip",
        temp_prefix=f"{JOB}/", spark_ui_prefix=f"spark-ui/{JOB}/",
        log_groups=job_log_groups(f"/aws-glue/jobs/{JOB}", SECCONF, JOB), key_alias="alias/lh-test-lake",
    )
    return JobGrant(**{**base, **overrides})


def statements(doc: dict) -> dict[str, dict]:
    return {st["Sid"]: st for st in doc["Statement"]}


def s3(bucket_role: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{BUCKETS[bucket_role]}" + (f"/{key}" if key is not None else "")


def glue(resource: str) -> str:
    return f"arn:aws:glue:{REGION}:{ACCOUNT}:{resource}"


# --- the job role ----------------------------------------------------------------------------

def test_job_policy_grants_exactly_the_declared_objects_and_tables():
    st = statements(job_role_policy(CTX, grant()))
    assert list(st) == [
        "ReadOwnScriptAndLibrary", "ReadDeclaredObjects", "WriteDeclaredObjects", "UseOwnTempAndSparkUiPrefixes",
        "ListPrefixesLhTestBronze123456789012", "ListPrefixesLhTestLogs123456789012",
        "ListPrefixesLhTestRaw123456789012", "ListPrefixesLhTestSilver123456789012",
        "ListPrefixesLhTestTemp123456789012", "UseLakeKey", "ReadCatalog", "WriteCatalogTables",
        "WriteOwnLogGroups", "PublishGlueMetrics",
    ]
    assert st["ReadOwnScriptAndLibrary"] == {
        "Sid": "ReadOwnScriptAndLibrary", "Effect": "Allow", "Action": ["s3:GetObject"],
        "Resource": [s3("scripts", "lib/lakelib-fedcba9876543210.zip"),
                     s3("scripts", "scripts/fhir/silver-0123456789abcdef.py")],
    }
    assert st["ReadDeclaredObjects"]["Action"] == ["s3:GetObject"]
    assert st["ReadDeclaredObjects"]["Resource"] == [s3("bronze", "fhir_patient/*"), s3("raw", "fhir/*")]
    assert st["WriteDeclaredObjects"]["Action"] == [
        "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert st["WriteDeclaredObjects"]["Resource"] == [s3("silver", "encounters/*"), s3("silver", "patients/*")]
    assert st["UseOwnTempAndSparkUiPrefixes"]["Resource"] == [s3("logs", f"spark-ui/{JOB}/*"), s3("temp", f"{JOB}/*")]
    assert st["ListPrefixesLhTestBronze123456789012"] == {
        "Sid": "ListPrefixesLhTestBronze123456789012", "Effect": "Allow", "Action": "s3:ListBucket",
        "Resource": s3("bronze"), "Condition": {"StringLike": {"s3:prefix": ["fhir_patient/", "fhir_patient/*"]}},
    }
    assert st["ListPrefixesLhTestSilver123456789012"]["Condition"]["StringLike"]["s3:prefix"] == [
        "encounters/", "encounters/*", "patients/", "patients/*"]
    # the lake key by its alias (ABAC for AWS KMS): its ARN holds an id AWS assigns on creation;
    # only through S3 and Glue, never with the role's credentials directly
    assert st["UseLakeKey"] == {
        "Sid": "UseLakeKey", "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
        "Resource": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*",
        "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/lh-test-lake"},
                      "StringEquals": {"kms:ViaService": [f"glue.{REGION}.amazonaws.com",
                                                          f"s3.{REGION}.amazonaws.com"]}}}


def test_job_policy_scopes_the_catalog_to_its_databases_and_tables():
    st = statements(job_role_policy(CTX, grant()))
    assert st["ReadCatalog"]["Action"] == ["glue:GetDatabase", "glue:GetTable"]
    assert st["ReadCatalog"]["Resource"] == [
        glue("catalog"), glue("database/lh_test_bronze"), glue("database/lh_test_silver"), glue("database/default"),
        glue("table/lh_test_bronze/fhir_patient"), glue("table/lh_test_silver/encounters"),
        glue("table/lh_test_silver/patients"),
    ]
    assert st["WriteCatalogTables"]["Action"] == ["glue:CreateTable", "glue:GetTable", "glue:UpdateTable"]
    assert st["WriteCatalogTables"]["Resource"] == [
        glue("catalog"), glue("database/lh_test_silver"),
        glue("table/lh_test_silver/encounters"), glue("table/lh_test_silver/patients"),
    ]


def test_job_policy_limits_logs_to_its_own_groups_and_metrics_to_the_glue_namespace():
    st = statements(job_role_policy(CTX, grant()))
    logs = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
    assert st["WriteOwnLogGroups"]["Action"] == [
        "logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    assert st["WriteOwnLogGroups"]["Resource"] == [
        f"{logs}/aws-glue/jobs/{JOB}-{SECCONF}:*",
        f"{logs}/aws-glue/jobs/{JOB}:*",
        f"{logs}/aws-glue/jobs/{SECCONF}-role/{JOB}/error:*",
        f"{logs}/aws-glue/jobs/{SECCONF}-role/{JOB}/output:*",
    ]
    assert st["PublishGlueMetrics"] == {
        "Sid": "PublishGlueMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
        "Condition": {"StringEquals": {"cloudwatch:namespace": "Glue"}},
    }


@pytest.mark.parametrize("alias", ["lh-test-lake", "alias/lh-test-*", "alias/lh-test-lak?"])
def test_the_key_is_named_by_one_literal_alias(alias):
    from lakehouse.model.iam import key_by_alias

    with pytest.raises(ValueError, match="a key alias is alias/<name> without wildcards"):
        key_by_alias(CTX, alias)


def test_job_policy_appends_the_known_statements_of_what_it_uses():
    extra = {"Sid": "ReadConnection", "Effect": "Allow", "Action": "glue:GetConnection",
             "Resource": glue("connection/c")}
    assert job_role_policy(CTX, grant(), extra)["Statement"] == job_role_policy(CTX, grant())["Statement"] + [extra]


def test_job_policy_has_no_wildcard_action_and_star_resource_only_for_put_metric_data():
    doc = job_role_policy(CTX, grant())
    for st in doc["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert all("*" not in a for a in actions), st
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert all(r != "*" for r in resources) or actions == ["cloudwatch:PutMetricData"], st
        assert st["Effect"] == "Allow"


def test_job_without_writes_or_spark_ui_gets_no_write_statements():
    doc = job_role_policy(CTX, grant(writes=(), spark_ui_prefix=None))
    st = statements(doc)
    assert "WriteDeclaredObjects" not in st and "WriteCatalogTables" not in st
    assert st["UseOwnTempAndSparkUiPrefixes"]["Resource"] == [s3("temp", f"{JOB}/*")]
    assert not any(sid.startswith("ListPrefixesLhTestLogs") or sid.startswith("ListPrefixesLhTestSilver") for sid in st)


def test_trust_policy_admits_only_glue_for_this_account():
    assert glue_trust_policy(CTX) == {"Version": "2012-10-17", "Statement": [{
        "Sid": "GlueAssumesRole", "Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }]}


# --- key, bucket and topic policies ------------------------------------------------------------

def key_policy() -> dict:
    return lake_key_policy(CTX, log_group_prefix="/aws-glue/jobs/lh-test-",
                           alerts_topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:lh-test-alerts",
                           access_logged_bucket_arns=[s3("raw"), s3("bronze")])


def test_key_policy_names_every_principal_and_conditions_every_service():
    st = statements(key_policy())
    assert list(st) == ["AccountAdministersKey", "AccountIamPoliciesUseKey", "CloudWatchLogsEncryptJobLogGroups",
                        "EventBridgePublishesToAlertTopic", "CloudWatchAlarmsPublishToAlertTopic",
                        "S3ServerAccessLogDelivery"]
    root = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert st["AccountAdministersKey"]["Principal"] == root and "kms:*" not in st["AccountAdministersKey"]["Action"]
    assert st["AccountIamPoliciesUseKey"]["Principal"] == root
    assert st["CloudWatchLogsEncryptJobLogGroups"]["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    assert st["CloudWatchLogsEncryptJobLogGroups"]["Condition"] == {"StringLike": {
        "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws-glue/jobs/lh-test-*"}}
    assert st["EventBridgePublishesToAlertTopic"]["Principal"] == {"Service": "events.amazonaws.com"}
    assert st["EventBridgePublishesToAlertTopic"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert st["EventBridgePublishesToAlertTopic"]["Condition"] == {"StringEquals": {
        "kms:EncryptionContext:aws:sns:topicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:lh-test-alerts"}}
    # the stack's alarms notify the same topic: the same actions, the same topic-only condition
    assert st["CloudWatchAlarmsPublishToAlertTopic"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert {k: v for k, v in st["CloudWatchAlarmsPublishToAlertTopic"].items() if k not in ("Sid", "Principal")} == {
        k: v for k, v in st["EventBridgePublishesToAlertTopic"].items() if k not in ("Sid", "Principal")}
    assert st["S3ServerAccessLogDelivery"]["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert st["S3ServerAccessLogDelivery"]["Action"] == ["kms:GenerateDataKey"]
    assert st["S3ServerAccessLogDelivery"]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": sorted([s3("bronze"), s3("raw")])}}
    for s in st.values():
        assert s["Principal"] != "*" and s["Principal"] != {"AWS": "*"}


def test_bucket_policy_denies_requests_without_tls():
    assert bucket_policy(CTX, BUCKETS["gold"]) == {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [s3("gold"), s3("gold", "*")], "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]}


def test_logs_bucket_policy_admits_access_log_delivery_from_the_stack_buckets_only():
    st = statements(logs_bucket_policy(CTX, BUCKETS["logs"], [BUCKETS["raw"], BUCKETS["gold"]]))
    assert list(st) == ["DenyInsecureTransport", "S3ServerAccessLogDelivery"]
    assert st["S3ServerAccessLogDelivery"] == {
        "Sid": "S3ServerAccessLogDelivery", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": s3("logs", "s3-access/*"),
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                      "ArnLike": {"aws:SourceArn": sorted([s3("raw"), s3("gold")])}},
    }


def test_topic_policy_admits_eventbridge_from_the_job_rules_only():
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:lh-test-alerts"
    rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{JOB}-failed"
    st = statements(alerts_topic_policy(CTX, topic, [rule]))
    assert st["EventBridgePublishesJobAlerts"] == {
        "Sid": "EventBridgePublishesJobAlerts", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sns:Publish", "Resource": topic,
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": [rule]}},
    }
    assert st["DenyInsecureTransport"]["Effect"] == "Deny"
    assert "CloudWatchPublishesAlarms" not in st  # no alarms: CloudWatch may not publish at all


def test_topic_policy_admits_cloudwatch_from_the_stacks_alarms_only():
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:lh-test-alerts"
    alarm = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:lh-test-fhir-silver-quarantine"
    st = statements(alerts_topic_policy(CTX, topic, [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/x"], [alarm]))
    assert st["CloudWatchPublishesAlarms"] == {
        "Sid": "CloudWatchPublishesAlarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish", "Resource": topic,
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": [alarm]}},
    }


def test_a_job_publishes_its_metrics_only_to_glue_and_its_stacks_namespace():
    st = statements(job_role_policy(CTX, grant(metrics_namespace="GlueLakehouse/lh-test")))["PublishGlueMetrics"]
    assert (st["Action"], st["Resource"]) == ("cloudwatch:PutMetricData", "*")
    assert st["Condition"] == {"StringEquals": {"cloudwatch:namespace": ["Glue", "GlueLakehouse/lh-test"]}}


@pytest.mark.parametrize("name", ["job", "job-read-only", "job-publishing-metrics", "trust", "key", "bucket",
                                  "logs-bucket", "topic", "topic-with-alarms"])
def test_every_generated_document_passes_parliament(name):
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:lh-test-alerts"
    documents = {
        "job": lambda: job_role_policy(CTX, grant()),
        "job-read-only": lambda: job_role_policy(CTX, grant(writes=(), spark_ui_prefix=None)),
        "job-publishing-metrics": lambda: job_role_policy(CTX, grant(metrics_namespace="GlueLakehouse/lh-test")),
        "trust": lambda: glue_trust_policy(CTX),
        "key": key_policy,
        "bucket": lambda: bucket_policy(CTX, BUCKETS["raw"]),
        "logs-bucket": lambda: logs_bucket_policy(CTX, BUCKETS["logs"], [BUCKETS["raw"]]),
        "topic": lambda: alerts_topic_policy(CTX, topic, [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/x"]),
        "topic-with-alarms": lambda: alerts_topic_policy(CTX, topic, [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/x"],
                                                         [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:lh-test-x"]),
    }
    assert parliament_findings(documents[name](), trust=name == "trust") == []


def test_parliament_check_catches_a_misspelt_action():
    doc = job_role_policy(CTX, grant())
    doc["Statement"][0]["Action"] = ["s3:GetObjekt"]
    assert [f[0] for f in parliament_findings(doc)] == ["UNKNOWN_ACTION"]


# --- names -------------------------------------------------------------------------------------

def test_names_derive_from_prefix_stack_and_account():
    cfg = load_stack_config("dev")
    names = lake_names(cfg, ACCOUNT)
    assert names.buckets == {r: f"lakehouse-dev-{r}-{ACCOUNT}" for r in BUCKET_ROLES}
    assert names.databases == {"bronze": "lakehouse_dev_bronze", "silver": "lakehouse_dev_silver",
                               "gold": "lakehouse_dev_gold"}
    job = names.job(cfg, cfg.pipelines[0].job("bronze"))
    assert (job.job, job.role, job.log_group, job.failure_rule, job.temp_prefix, job.spark_ui_prefix) == (
        "lakehouse-dev-fhir-bronze", "lakehouse-dev-fhir-bronze", "/aws-glue/jobs/lakehouse-dev-fhir-bronze",
        "lakehouse-dev-fhir-bronze-failed", "lakehouse-dev-fhir-bronze/", "spark-ui/lakehouse-dev-fhir-bronze/")
    assert job.log_group.startswith(names.log_group_prefix)
    assert name_problems(cfg, names).items == []


def test_a_job_name_too_long_for_an_iam_role_is_a_config_problem():
    from dataclasses import replace

    cfg = load_stack_config("dev")
    [fhir] = [p for p in cfg.pipelines if p.name == "fhir"]
    [climate] = [p for p in cfg.pipelines if p.name == "climate"]
    longest = replace(cfg, name_prefix="a-very-long-prefix-x", stack="a-very-long-stack-xy")
    long_prefix = replace(longest, pipelines=(fhir,))
    names = lake_names(long_prefix, ACCOUNT)
    assert name_problems(long_prefix, names).items == []  # longest prefix and stack still fit S3 and IAM for fhir
    assert max(len(b) for b in names.buckets.values()) == 62
    # climate's longer job names (25-33 characters) do not fit with the longest prefix and stack, nor do the
    # other jobs whose role name "<prefix>-<stack>-<pipeline>-<job>" passes IAM's 64 less the role suffix (57):
    # one problem per such job, before anything is registered (the shipped "lakehouse" prefix fits, see above)
    problems = name_problems(longest, lake_names(longest, ACCOUNT)).items
    too_long_jobs = [f"{p.source}: jobs.{j.name}" for p in longest.pipelines for j in p.jobs
                     if len(f"a-very-long-prefix-x-a-very-long-stack-xy-{p.name}-{j.name.replace('_', '-')}") > 57]
    assert [p.split(": got ")[0] for p in problems] == too_long_jobs
    assert {f"pipelines/climate.yaml: jobs.{j.name}" for j in climate.jobs} <= set(too_long_jobs)
    assert not any(p.startswith("pipelines/fhir.yaml") for p in too_long_jobs)
    assert name_problems(cfg, lake_names(cfg, ACCOUNT)).items == []
    pipeline = replace(fhir, jobs=(replace(fhir.jobs[0], name="b" * 40),))
    too_long = replace(long_prefix, pipelines=(pipeline,))
    [problem] = name_problems(too_long, lake_names(too_long, ACCOUNT)).items
    assert problem.startswith("pipelines/fhir.yaml: jobs." + "b" * 40
                              + ": got 'a-very-long-prefix-x-a-very-long-stack-xy-fhir-")
    assert "at most 57 characters" in problem


def test_a_job_whose_failure_rule_name_exceeds_eventbridge_64_is_a_config_problem():
    """The role fits IAM's 64 but "<job>-failed" would not fit EventBridge's 64: refused before registration."""
    from dataclasses import replace

    cfg = replace(load_stack_config("dev"), stack="staging-euwest1")
    names = lake_names(cfg, ACCOUNT)
    job = names.job(cfg, [p for p in cfg.pipelines if p.name == "climate"][0].job("calculate_derived_metrics"))
    assert (len(job.role), len(job.failure_rule)) == (59, 66)
    assert [p.split(": got ")[0] for p in name_problems(cfg, names).items] == [
        "pipelines/climate.yaml: jobs.calculate_derived_metrics"]
    fits = replace(cfg, stack="staging-euwes")  # 57 characters: role 57, rule 64
    assert name_problems(fits, lake_names(fits, ACCOUNT)).items == []


# --- packaging ---------------------------------------------------------------------------------

def test_library_zip_is_deterministic_sorted_and_skips_bytecode(tmp_path):
    import shutil

    pkg = tmp_path / "demolib"
    shutil.copytree(FIXTURES / "demolib", pkg)
    first = library_zip(pkg)
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (pkg / "io" / "stale.pyc").write_bytes(b"\0")
    for p in pkg.rglob("*.py"):
        os.utime(p, (1_700_000_000, 1_700_000_000))  # other timestamps
    second = library_zip(pkg)
    assert first == second
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert names == ["demolib/__init__.py", "demolib/io/__init__.py", "demolib/io/read.py"]
    infos = zipfile.ZipFile(io.BytesIO(first)).infolist()
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert library_key("demolib", first) == f"lib/demolib-{content_hash(first)}.zip"


def test_library_zip_changes_with_the_code(tmp_path):
    import shutil

    pkg = tmp_path / "demolib"
    shutil.copytree(FIXTURES / "demolib", pkg)
    before = library_key("demolib", library_zip(pkg))
    (pkg / "io" / "read.py").write_text("def read(path):\n    return path.strip()\n")
    assert library_key("demolib", library_zip(pkg)) != before


def test_script_key_carries_the_content_hash():
    data = (FIXTURES / "demo_job.py").read_bytes()
    assert script_key("demo", "demo/job.py", data) == f"scripts/demo/job-{content_hash(data)}.py"
    assert script_key("demo", "demo/job.py", data + b"\n") != script_key("demo", "demo/job.py", data)


# --- tags --------------------------------------------------------------------------------------

@pytest.mark.parametrize("type_, taggable", [
    ("aws:s3/bucket:Bucket", True), ("aws:glue/job:Job", True), ("aws:kms/key:Key", True),
    ("aws:lambda/function:Function", True), ("aws:s3/bucketVersioning:BucketVersioning", False),
    ("aws:iam/rolePolicy:RolePolicy", False), ("aws:kms/alias:Alias", False), ("pulumi:providers:aws", False),
    ("glue-lakehouse:components:GlueJob", False),
])
def test_taggable_types_come_from_the_provider_sdk(type_, taggable):
    assert is_taggable(type_) is taggable


def test_standard_tags_win_over_a_resource_own_values():
    assert with_tags({"tags": {"Environment": "x", "Zone": "gold"}, "bucket": "b"}, {"Environment": "dev"}) == {
        "tags": {"Environment": "dev", "Zone": "gold"}, "bucket": "b"}


def test_the_transform_tags_custom_taggable_resources_only():
    import pulumi

    transform = standard_tags_transform({"Owner": "team"})
    args = lambda t, custom=True: pulumi.ResourceTransformArgs(  # noqa: E731
        custom=custom, type_=t, name="n", props={"name": "n"}, opts=pulumi.ResourceOptions())
    assert transform(args("aws:sns/topic:Topic")).props == {"name": "n", "tags": {"Owner": "team"}}
    assert transform(args("aws:sns/topicPolicy:TopicPolicy")) is None
    assert transform(args("glue-lakehouse:components:JobAlerts", custom=False)) is None


# --- least privilege for any declaration -------------------------------------------------------

_ident = hs.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_prefix = hs.from_regex(r"[a-z][a-z0-9_-]{0,8}/([a-z0-9]{1,4}/)?", fullmatch=True)


@hs.composite
def _accesses(draw):
    out = []
    zones = hs.sampled_from(["raw", "bronze", "silver", "gold"])
    for zone in draw(hs.lists(zones, min_size=1, max_size=3, unique=True)):
        tables = () if zone == "raw" else tuple(draw(hs.lists(_ident, max_size=3, unique=True)))
        prefixes = tuple(draw(hs.lists(_prefix, min_size=0 if tables else 1, max_size=2, unique=True)))
        out.append(Access(zone, tables=tables, prefixes=prefixes))
    return tuple(out)


@hsettings(max_examples=40, deadline=None)
@given(reads=_accesses(), writes=_accesses())
def test_any_declaration_grants_objects_and_tables_under_its_declared_prefixes_only(reads, writes):
    doc = job_role_policy(CTX, grant(reads=reads, writes=writes))
    allowed_objects = {s3(a.zone, p + "*") for a in reads + writes for p in
                       [f"{t}/" for t in a.tables] + list(a.prefixes)}
    own = {s3("scripts", grant().script_key), s3("scripts", grant().library_key), s3("temp", f"{JOB}/*"),
           s3("logs", f"spark-ui/{JOB}/*")}
    written = {s3(a.zone, p + "*") for a in writes for p in [f"{t}/" for t in a.tables] + list(a.prefixes)}
    tables = {glue(f"table/{DATABASES[a.zone]}/{t}") for a in reads + writes for t in a.tables}
    written_dbs = {glue(f"database/{DATABASES[a.zone]}") for a in writes if a.tables}
    for st in doc["Statement"]:
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        for r in resources:
            if r.startswith("arn:aws:s3:::") and "/" in r:
                assert r in allowed_objects | own, (st["Sid"], r)
                if {"s3:PutObject", "s3:DeleteObject"} & set(actions):
                    assert r in written | own, (st["Sid"], r)
            elif r.startswith(glue("table/")):
                assert r in tables, (st["Sid"], r)
        if st["Sid"] == "WriteCatalogTables":
            assert set(resources) - {glue("catalog")} - written_dbs == {
                glue(f"table/{DATABASES[a.zone]}/{t}") for a in writes for t in a.tables}
