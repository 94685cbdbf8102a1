"""Each stack's whole program under mocks, with its own Pulumi.<stack>.yaml read from the file.

dev and prod come from the same components; only configuration differs. A bad
configuration fails with the config layer's error before anything is registered.
"""

from __future__ import annotations

import json

import pytest

from components.tagging import is_taggable
from lakehouse.model.config import PROJECT, load_stack_config, stack_file_values
from lakehouse.model.errors import ConfigError
from lakehouse.model.names import lake_names, orchestration_names
from lakehouse.model.zones import BUCKET_ROLES
from lakehouse.offline import ACCOUNT, LakehouseMocks, evaluate_stack

STACKS = ("dev", "prod")
JOB_TYPE = "aws:glue/job:Job"


@pytest.fixture(scope="module", params=STACKS)
def stack(request):
    return request.param, evaluate_stack(request.param)


def test_outputs_name_what_users_and_the_ops_tool_need(stack):
    name, ev = stack
    cfg = load_stack_config(name)
    names = lake_names(cfg, ACCOUNT)
    region = stack_file_values(name)["aws:region"]
    key = ev.of_type("aws:kms/key:Key")[0]
    declared = [(p.name, j.name) for p in cfg.pipelines for j in p.jobs]  # what the stack file deploys
    expected = {
        "region": region,
        "kmsKeyArn": f"arn:aws:kms:{region}:{ACCOUNT}:key/{key.id}",
        "buckets": {role: f"lakehouse-{name}-{role}-{ACCOUNT}" for role in BUCKET_ROLES},
        "databases": {z: f"lakehouse_{name}_{z}" for z in ("bronze", "silver", "gold")},
        "jobs": {f"{p}.{j}": f"lakehouse-{name}-{p}-{j.replace('_', '-')}" for p, j in declared},
        "securityConfiguration": f"lakehouse-{name}-jobs",
        "alertsTopicArn": f"arn:aws:sns:{region}:{ACCOUNT}:lakehouse-{name}-alerts",
        "dashboard": names.dashboard,
        # a Glue workflow runs each pipeline but those run by Step Functions (orchestrator: step_functions)
        "workflows": {p.name: f"lakehouse-{name}-{p.name}" for p in cfg.pipelines if p.orchestrator == "glue_workflow"},
        "athena": {"workgroup": f"lakehouse-{name}-analytics", "database": f"lakehouse_{name}_gold",
                   "analystRoleArn": f"arn:aws:iam::{ACCOUNT}:role/lakehouse-{name}-analyst"},
    }
    crawled = [p.name for p in cfg.pipelines if p.crawler is not None]
    machines = [p.name for p in cfg.pipelines if p.orchestrator == "step_functions"]
    if crawled:  # the crawlers catalog the raw zone into its own database
        expected["databases"] = {"raw": f"lakehouse_{name}_raw", **expected["databases"]}
        expected["crawlers"] = {p: f"lakehouse-{name}-{p}-crawler" for p in crawled}
    if machines:
        expected["stateMachines"] = {
            p: f"arn:aws:states:{region}:{ACCOUNT}:stateMachine:lakehouse-{name}-{p}" for p in machines}
    if cfg.needs_connection:  # a declared `connection: true` job brings the JDBC connection and its database
        endpoint = f"lakehouse-{name}-postgres.abc123xyz.{region}.rds.amazonaws.com:5432"  # the mocks' RDS address
        expected["connection"] = {
            "name": f"lakehouse-{name}-postgres", "jdbcUrl": f"jdbc:postgresql://{endpoint}/lakehouse",
            "vpcId": "postgres-vpc-id", "subnetId": "postgres-private-1-id", "securityGroupId": "postgres-glue-id"}
        expected["database"] = {
            "endpoint": endpoint, "name": "lakehouse",
            "secretArn": f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:rds!db-postgres-postgres-AbCdEf"}
    assert ev.outputs == expected
    # both stacks ship all three pipelines, orders on Step Functions with a crawler
    assert {"fhir", "climate", "orders"} <= {p.name for p in cfg.pipelines} and cfg.needs_connection
    assert crawled == machines == ["orders"]
    assert ev.outputs["buckets"] == dict(names.buckets)


def test_glue_jobs_take_their_sizes_from_the_stack_file(stack):
    name, ev = stack
    cfg = load_stack_config(name)
    jobs = {r.inputs["name"]: r.inputs for r in ev.of_type(JOB_TYPE)}
    for job_key, s in cfg.job_settings.items():
        job = jobs[cfg.resource_name(*job_key.split("."))]
        assert (job["glueVersion"], job["workerType"], job["numberOfWorkers"], job["timeout"], job["maxRetries"],
                job["executionClass"], job["jobRunQueuingEnabled"]) == (
            s.glue_version, s.worker_type, s.number_of_workers, s.timeout_minutes, s.max_retries,
            s.execution_class, s.job_run_queuing)
        assert job["executionProperty"] == {"maxConcurrentRuns": s.max_concurrent_runs}
        assert job["notificationProperty"] == {"notifyDelayAfter": s.notify_delay_minutes}
        assert job["defaultArguments"]["--enable-auto-scaling"] == ("true" if s.auto_scaling else "false")
        assert job["securityConfiguration"] == f"lakehouse-{name}-jobs"


def test_dev_is_small_flex_short_lived_and_destroyable():
    ev = evaluate_stack("dev")
    assert {(j.inputs["executionClass"], j.inputs["workerType"], j.inputs["numberOfWorkers"])
            for j in ev.of_type(JOB_TYPE)} == {("FLEX", "G.1X", 2)}
    assert {j.inputs["defaultArguments"]["--enable-auto-scaling"] for j in ev.of_type(JOB_TYPE)} == {"false"}
    assert {b.inputs["forceDestroy"] for b in ev.of_type("aws:s3/bucket:Bucket")} == {True}
    assert {g.inputs["retentionInDays"] for g in ev.of_type("aws:cloudwatch/logGroup:LogGroup")} == {7}
    assert {g.inputs["deletionProtectionEnabled"] for g in ev.of_type("aws:cloudwatch/logGroup:LogGroup")} == {False}
    assert ev.of_type("aws:kms/key:Key")[0].inputs["deletionWindowInDays"] == 7
    assert not any(r.protect for r in ev)


def test_prod_is_auto_scaling_flex_sized_from_the_benchmark_long_lived_and_protected():
    ev = evaluate_stack("prod")
    sizes = {j.inputs["name"]: (j.inputs["executionClass"], j.inputs["workerType"], j.inputs["numberOfWorkers"])
             for j in ev.of_type(JOB_TYPE)}
    # pipelines/fhir.yaml stacks.prod: bronze and silver up to 6 x G.1X, gold 3 (docs/benchmarks.md, "Glue cost
    # projection"); every other job (maintenance, climate, orders) takes the stack's 3 x G.1X FLEX
    fhir = {"fhir.bronze": 6, "fhir.silver": 6}
    assert sizes == {f"lakehouse-prod-{p.name}-{j.name.replace('_', '-')}": ("FLEX", "G.1X", fhir.get(j.key, 3))
                     for p in load_stack_config("prod").pipelines for j in p.jobs}
    assert {j.inputs["defaultArguments"]["--enable-auto-scaling"] for j in ev.of_type(JOB_TYPE)} == {"true"}
    assert {b.inputs["forceDestroy"] for b in ev.of_type("aws:s3/bucket:Bucket")} == {False}
    assert {g.inputs["retentionInDays"] for g in ev.of_type("aws:cloudwatch/logGroup:LogGroup")} == {365}
    assert {g.inputs["deletionProtectionEnabled"] for g in ev.of_type("aws:cloudwatch/logGroup:LogGroup")} == {True}
    protected = {(r.type, r.name) for r in ev if r.protect}
    # the raw zone's database (the crawlers' tables) exists, and is protected, when a pipeline declares a crawler
    crawled = any(p.crawler is not None for p in load_stack_config("prod").pipelines)
    assert protected == ({("aws:kms/key:Key", "lake-key")}
                         | {("aws:s3/bucket:Bucket", f"lake-{role}") for role in BUCKET_ROLES}
                         | {("aws:glue/catalogDatabase:CatalogDatabase", f"catalog-{z}")
                            for z in ("bronze", "silver", "gold") + ("raw",) * crawled})


def test_every_taggable_resource_carries_the_stack_tags_in_its_inputs(stack):
    name, ev = stack
    tags = dict(load_stack_config(name).tags)
    taggable = [r for r in ev if r.custom and is_taggable(r.type)]
    assert len(taggable) >= 30
    for r in taggable:
        assert {k: r.inputs.get("tags", {}).get(k) for k in tags} == tags, (r.type, r.name)
    provider = ev.get("pulumi:providers:aws", "aws")
    assert json.loads(provider.inputs["defaultTags"]) == {"tags": tags}
    assert provider.inputs["region"] == stack_file_values(name)["aws:region"]


def test_every_resource_is_parented_and_named_from_its_component(stack):
    _, ev = stack
    components = {r.urn: r for r in ev if not r.custom}
    for r in ev:
        if r.type == "pulumi:providers:aws":
            continue
        if r.custom:
            assert r.parent in components, (r.type, r.name)
            assert r.name.startswith(components[r.parent].name), (r.type, r.name, components[r.parent].name)
        assert r.provider == "" or r.provider.startswith(ev.get("pulumi:providers:aws", "aws").urn)


def test_every_aws_resource_uses_the_stack_provider(stack):
    _, ev = stack
    provider = ev.get("pulumi:providers:aws", "aws")
    for r in ev:
        if r.custom and r.type.startswith("aws:"):
            assert r.provider.startswith(provider.urn + "::"), (r.type, r.name, r.provider)


def test_one_alert_topic_and_a_failure_and_a_late_rule_per_job_targeting_it(stack):
    name, ev = stack
    [topic] = ev.of_type("aws:sns/topic:Topic")
    cfg = load_stack_config(name)
    all_targets = ev.of_type("aws:cloudwatch/eventTarget:EventTarget")
    targets = [t for t in all_targets if t.inputs["arn"] == topic.outputs["arn"]]
    # every job (the synthesized `maintain` jobs too) has a failure and a late rule on the topic
    rules = sorted(f"lakehouse-{name}-{p.name}-{j.name.replace('_', '-')}-{kind}"
                   for p in cfg.pipelines for j in p.jobs for kind in ("failed", "late"))
    assert sorted(t.inputs["rule"] for t in targets) == rules
    assert {f"{p.name}.maintain" for p in cfg.pipelines} <= {j.key for p in cfg.pipelines for j in p.jobs}
    # the only other targets: each step_functions pipeline's start rule (SCHEDULED / EVENT stacks) -> its machine
    machines = [p.name for p in cfg.pipelines if p.orchestrator == "step_functions"]
    starts = machines if cfg.workflow.start_mode in ("SCHEDULED", "EVENT") else []
    others = sorted((t.inputs["rule"], t.inputs["arn"]) for t in all_targets if t not in targets)
    assert others == sorted((f"lakehouse-{name}-{m}-start",
                             ev.get("aws:sfn/stateMachine:StateMachine", m).outputs["arn"]) for m in starts)
    # the topic admits exactly these rules, so every job's failure reaches it
    [policy] = ev.of_type("aws:sns/topicPolicy:TopicPolicy")
    # (CloudWatch has its own statement for the monitoring alarms: tests/components/test_lake_monitoring.py)
    [publish] = [st for st in json.loads(policy.inputs["policy"])["Statement"]
                 if st["Effect"] == "Allow" and st["Principal"] == {"Service": "events.amazonaws.com"}]
    assert sorted(publish["Condition"]["ArnLike"]["aws:SourceArn"]) == [
        f"arn:aws:events:{stack_file_values(name)['aws:region']}:{ACCOUNT}:rule/{r}" for r in rules]
    [library] = [o for o in ev.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if o.inputs["key"].startswith("lib/")]
    assert library.inputs["key"].startswith("lib/lakelib-")
    for job in ev.of_type(JOB_TYPE):
        assert job.inputs["defaultArguments"]["--extra-py-files"] == \
            f"s3://lakehouse-{name}-scripts-{ACCOUNT}/{library.inputs['key']}"


def test_the_policy_pack_finds_no_mandatory_violation(stack):
    from policy.offline import POLICY_DIR, evaluate, load_pack_config, mandatory, resources_from_program

    name, ev = stack
    violations = evaluate(resources_from_program(ev), load_pack_config(POLICY_DIR / f"config.{name}.json"))
    assert [f"{v.policy} {v.resource_name}: {v.message}" for v in mandatory(violations)] == []


def test_evaluation_is_repeatable_in_one_process():
    first = {(r.type, r.name): r.inputs for r in evaluate_stack("dev")}
    evaluate_stack("prod")
    second = {(r.type, r.name): r.inputs for r in evaluate_stack("dev")}
    assert first == second


# --- bad configuration: one clear error, nothing registered ------------------------------------

def with_values(stack: str, **changes) -> dict:
    values = stack_file_values(stack)
    for key, value in changes.items():
        full = f"{PROJECT}:{key}"
        if value is None:
            values.pop(full, None)
        else:
            values[full] = value
    return values


@pytest.mark.parametrize("stack_name, changes, problems", [
    ("dev", {"workerType": "G.9X"},
     ["glue-lakehouse:workerType: got 'G.9X'; allowed: G.1X | G.2X | G.4X | G.8X"]),
    ("prod", {"forceDestroy": True},
     ["glue-lakehouse:forceDestroy: got True; allowed: false in prod: buckets holding lake data are never "
      "force-destroyed"]),
    ("dev", {"owner": None, "logRetentionDays": 8},
     ["glue-lakehouse:owner: got None; allowed: a value in Pulumi.dev.yaml (required: Team or person owning the "
      "stack (Owner tag, required))",
      "glue-lakehouse:logRetentionDays: got 8; allowed: 1 | 3 | 5 | 7 | 14 | 30 | 60 | 90 | 120 | 150 | 180 | 365 | "
      "400 | 545 | 731 | 1096 | 1827 | 2192 | 2557 | 2922 | 3288 | 3653"]),
    ("dev", {"pipelines": ["fhir", "nosuch"]},
     ["pipelines: got 'nosuch'; allowed: one of the declared pipelines"]),
])
def test_bad_configuration_fails_clearly_and_registers_nothing(stack_name, changes, problems):
    mocks = LakehouseMocks()
    with pytest.raises(ConfigError) as e:
        evaluate_stack(stack_name, with_values(stack_name, **changes), mocks=mocks)
    for expected in problems:
        assert any(p.startswith(expected) for p in e.value.problems), (expected, e.value.problems)
    assert len(e.value.problems) == len(problems)
    assert mocks.created == []
    assert mocks.calls == []


def test_a_missing_region_fails_before_any_registration():
    import pulumi

    mocks = LakehouseMocks()
    values = stack_file_values("dev")
    del values["aws:region"]
    with pytest.raises(pulumi.ConfigMissingError, match="aws:region"):
        evaluate_stack("dev", values, mocks=mocks)
    assert mocks.created == []


DOCUMENTS = {  # resource type -> input holding a policy document
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:kms/key:Key": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
}


def test_every_policy_document_of_the_stack_passes_parliament(stack):
    from component_support import parliament_findings

    name, ev = stack
    linted, roles = 0, set()
    for r in ev:
        if r.type in DOCUMENTS:
            doc = json.loads(r.inputs[DOCUMENTS[r.type]])
            assert parliament_findings(doc, trust=r.type == "aws:iam/role:Role") == [], (r.type, r.name)
            linted += 1
            if r.type == "aws:iam/role:Role":
                roles.add(r.inputs["name"])
    cfg = load_stack_config(name)
    jobs = sum(len(p.jobs) for p in cfg.pipelines)  # the synthesized `maintain` jobs included
    crawled = [p.name for p in cfg.pipelines if p.crawler is not None]
    machines = [p.name for p in cfg.pipelines if p.orchestrator == "step_functions"]
    started = machines if cfg.workflow.start_mode in ("SCHEDULED", "EVENT") else []
    # job roles, job role policies, the analyst role and its policy, the VPC flow-log role and its policy (a
    # created network), key, buckets, topic; a role and its policy per crawler, per state machine and per
    # state machine start rule
    assert linted == (jobs + jobs + 2 + 2 * cfg.network.create + 1 + 7 + 1
                      + 2 * len(crawled) + 2 * len(machines) + 2 * len(started))
    # the new documents are among those linted: crawler, state machine, start and maintenance roles
    o = {p.name: orchestration_names(cfg, p.name, f"lakehouse-{name}-jobs") for p in cfg.pipelines}
    assert ({o[p].crawler_role for p in crawled} | {o[m].state_machine_role for m in machines}
            | {o[m].start_role for m in started}) <= roles
    assert {f"lakehouse-{name}-{p.name}-maintain" for p in cfg.pipelines} <= roles


def test_jobs_declaring_a_connection_get_the_stack_jdbc_connection_and_only_they():
    from policy.offline import POLICY_DIR, evaluate, load_pack_config, mandatory, resources_from_program

    cfg = load_stack_config("prod")
    assert cfg.needs_connection is True  # the shipped prod stack deploys climate, whose jobs declare it
    declared = {f"{p.name}.{j.name}": j.connection for p in cfg.pipelines for j in p.jobs}
    [climate] = [p for p in cfg.pipelines if p.name == "climate"]
    # climate's declared jobs read the database; the synthesized `maintain` jobs only touch the lake's tables
    assert {k for k, c in declared.items() if c} == {j.key for j in climate.jobs if j.name != "maintain"}
    assert {k for k, c in declared.items() if not c} == {j.key for p in cfg.pipelines for j in p.jobs
                                                         if p.name != "climate" or j.name == "maintain"}
    ev = evaluate_stack("prod")
    [connection] = ev.of_type("aws:glue/connection:Connection")
    assert connection.inputs["name"] == "lakehouse-prod-postgres"
    jobs = {j.name: j for j in ev.of_type(JOB_TYPE)}
    assert sorted(jobs) == [f"{p.name}-{j.name}" for p in sorted(cfg.pipelines, key=lambda p: p.name)
                            for j in sorted(p.jobs, key=lambda j: j.name)]
    for p in cfg.pipelines:
        for j in p.jobs:
            job = jobs[f"{p.name}-{j.name}"].inputs
            assert job.get("connections") == (["lakehouse-prod-postgres"] if j.connection else None), j.key
            assert job["defaultArguments"].get("--connection_name") == (
                "lakehouse-prod-postgres" if j.connection else None), j.key
            policy = ev.get("aws:iam/rolePolicy:RolePolicy", f"{p.name}-{j.name}-policy")
            sids = [st["Sid"] for st in json.loads(policy.inputs["policy"])["Statement"]]
            # the connection's statements, known at preview, are in the job's one policy
            assert ("ReadConnection" in sids) == ("ReadConnectionSecret" in sids) == j.connection, j.key
    # one policy per job role, plus one per crawler, state machine and state machine start rule
    machines = [p for p in cfg.pipelines if p.orchestrator == "step_functions"]
    orchestration = (sum(p.crawler is not None for p in cfg.pipelines) + len(machines)
                     + len(machines) * (cfg.workflow.start_mode in ("SCHEDULED", "EVENT")))
    assert len([r for r in ev.of_type("aws:iam/rolePolicy:RolePolicy")
                if r.name not in ("analytics-analyst-policy", "postgres-flow-logs")]) == len(declared) + orchestration
    assert sorted(ev.outputs["workflows"]) == sorted(p.name for p in cfg.pipelines if p.orchestrator == "glue_workflow")
    assert ev.outputs["connection"]["name"] == "lakehouse-prod-postgres"
    assert ev.outputs["database"]["name"] == "lakehouse"
    assert sorted(ev.outputs["jobs"]) == sorted(declared)
    violations = evaluate(resources_from_program(ev), load_pack_config(POLICY_DIR / "config.prod.json"))
    assert [f"{v.policy} {v.resource_name}: {v.message}" for v in mandatory(violations)] == []


def test_a_stack_without_connection_jobs_makes_no_connection_network_or_database():
    values = stack_file_values("prod")
    values[f"{PROJECT}:pipelines"] = ["fhir"]  # no declared `connection: true` job
    ev = evaluate_stack("prod", values)
    assert "connection" not in ev.outputs and "database" not in ev.outputs
    for typ in ("aws:glue/connection:Connection", "aws:rds/instance:Instance", "aws:ec2/vpc:Vpc",
                "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/vpcEndpoint:VpcEndpoint"):
        assert ev.of_type(typ) == [], typ
    # fhir's declared jobs and the `maintain` job the model adds to every pipeline
    assert sorted(ev.outputs["jobs"]) == ["fhir.bronze", "fhir.gold", "fhir.maintain", "fhir.silver"]
    assert all("connections" not in j.inputs for j in ev.of_type(JOB_TYPE))


# --- job logging follows the Glue version ------------------------------------------------------

GLUE4_LOGGING = ("--enable-continuous-cloudwatch-log", "--enable-continuous-log-filter", "--continuous-log-logGroup")
LOG_PREFIX = "--custom-logGroup-prefix"


def assert_logging_follows_the_glue_version(ev, cfg) -> None:
    """Per job: the logging arguments of its version, exactly the log groups that version writes
    (created, KMS-encrypted), and a role that may write exactly those."""
    from lakehouse.model.iam import job_log_groups
    from lakehouse.model.names import job_names

    security_configuration = lake_names(cfg, ACCOUNT).security_configuration
    region = stack_file_values(cfg.stack)["aws:region"]
    jobs = {j.name: j for j in ev.of_type(JOB_TYPE)}
    for p in cfg.pipelines:
        for j in p.jobs:
            names, version = job_names(cfg, j), cfg.job_settings[j.key].glue_version
            arguments = jobs[f"{p.name}-{j.name}"].inputs["defaultArguments"]
            if version == "5.0":
                assert arguments[LOG_PREFIX] == names.log_group, j.key
                assert set(GLUE4_LOGGING).isdisjoint(arguments), j.key
            else:
                assert [arguments.get(k) for k in GLUE4_LOGGING] == ["true", "true", names.log_group], j.key
                assert LOG_PREFIX not in arguments, j.key
            expected = job_log_groups(names.log_group, security_configuration, names.role, version)
            component = ev.get("glue-lakehouse:components:GlueJob", f"{p.name}-{j.name}")
            groups = [g for g in ev.of_type("aws:cloudwatch/logGroup:LogGroup") if g.parent == component.urn]
            assert sorted(g.inputs["name"] for g in groups) == sorted(expected), j.key
            assert all(g.inputs["kmsKeyId"] for g in groups), j.key
            policy = json.loads(ev.get("aws:iam/rolePolicy:RolePolicy", f"{p.name}-{j.name}-policy").inputs["policy"])
            [logs] = [st for st in policy["Statement"] if st["Sid"] == "WriteOwnLogGroups"]
            assert logs["Resource"] == sorted(f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{g}:*" for g in expected)


def test_every_job_logs_as_its_glue_version_does(stack):
    name, ev = stack
    assert_logging_follows_the_glue_version(ev, load_stack_config(name))


def test_a_stack_on_glue_4_keeps_continuous_logging_and_passes_the_pack():
    from lakehouse.model.config import parse_stack_config
    from policy.offline import POLICY_DIR, evaluate, load_pack_config, mandatory, resources_from_program

    values = with_values("prod", glueVersion="4.0")
    ev = evaluate_stack("prod", values)
    assert {j.inputs["glueVersion"] for j in ev.of_type(JOB_TYPE)} == {"4.0"}
    assert_logging_follows_the_glue_version(ev, parse_stack_config("prod", values))
    violations = evaluate(resources_from_program(ev), load_pack_config(POLICY_DIR / "config.prod.json"))
    assert [f"{v.policy} {v.resource_name}: {v.message}" for v in mandatory(violations)] == []
