"""A pipeline's crawler (GlueCrawler) and its two orchestrators under Pulumi mocks: a Step Functions state
machine (PipelineStateMachine) or a Glue workflow whose start trigger runs the crawler first. Pipelines are
throwaway inline declarations (parse_pipeline), with `orchestrator: step_functions` or `glue_workflow`."""

from __future__ import annotations

import json

import pulumi
import pytest
from aws_requests import Ctx, resource_errors
from component_support import parliament_findings
from policy_support import policy_violations

import lakehouse.model.pipelines as pipelines_mod
from components.glue_crawler import GlueCrawler, GlueCrawlerArgs, validate_crawler
from components.glue_workflow import GlueWorkflow, GlueWorkflowArgs
from components.pipeline_state_machine import PipelineStateMachine, PipelineStateMachineArgs
from lakehouse.model.config import WorkflowSettings
from lakehouse.model.errors import ConfigError
from lakehouse.model.iam import state_machine_arn
from lakehouse.model.names import AwsContext, OrchestrationNames
from lakehouse.model.pipelines import parse_pipeline
from lakehouse.model.state_machine import GLUE_JOB_SYNC, START_CRAWLER, tasks
from lakehouse.offline import ACCOUNT, DEFAULT_REGION, run_program

CTX = AwsContext(ACCOUNT, DEFAULT_REGION)
RAW = f"lakehouse-prod-raw-{ACCOUNT}"
KEY_ALIAS = "alias/lakehouse-prod-lake"
TOPIC = CTX.arn("sns", "lakehouse-prod-alerts")
SECURITY_CONFIGURATION = "lakehouse-prod-jobs"
TAGS = {"Environment": "prod", "Project": "glue-lakehouse", "Owner": "data-platform", "CostCenter": "cc-1",
        "DataClassification": "internal", "ManagedBy": "pulumi"}
CRAWLER = "aws:glue/crawler:Crawler"
MACHINE = "aws:sfn/stateMachine:StateMachine"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TRIGGER = "aws:glue/trigger:Trigger"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def declaration(orchestrator: str) -> dict:
    return {
        "name": "shop", "description": "orders and customers", "orchestrator": orchestrator,
        "crawler": {"prefixes": ["shop/orders/", "shop/customers/"], "table_prefix": "shop_raw_"},
        "jobs": [
            {"name": "extract", "script": "a.py",
             "reads": [{"zone": "raw", "tables": ["shop_raw_orders", "shop_raw_customers"], "prefixes": ["shop/"]}],
             "writes": [{"zone": "bronze", "tables": ["orders", "customers"]}]},
            {"name": "orders", "script": "a.py", "depends_on": ["extract"],
             "reads": [{"zone": "bronze", "tables": ["orders"]}], "writes": [{"zone": "silver", "tables": ["o"]}]},
            {"name": "customers", "script": "a.py", "depends_on": ["extract"],
             "reads": [{"zone": "bronze", "tables": ["customers"]}], "writes": [{"zone": "silver", "tables": ["c"]}]},
            {"name": "load", "script": "a.py", "depends_on": ["orders", "customers"],
             "reads": [{"zone": "silver", "tables": ["o", "c"]}], "writes": [{"zone": "gold", "tables": ["daily"]}]},
        ],
    }


@pytest.fixture
def pipeline_of(tmp_path, monkeypatch):
    (tmp_path / "a.py").write_text("")
    monkeypatch.setattr(pipelines_mod, "GLUE_SCRIPTS_DIR", tmp_path)
    return lambda orchestrator: parse_pipeline(declaration(orchestrator), "shop.yaml")


def names() -> OrchestrationNames:
    crawler = "lakehouse-prod-shop-crawler"
    return OrchestrationNames(
        raw_database="lakehouse_prod_raw", crawler=crawler, crawler_role=crawler,
        crawler_log_group=f"/aws-glue/crawlers-role/{crawler}-{SECURITY_CONFIGURATION}",
        state_machine="lakehouse-prod-shop", state_machine_role="lakehouse-prod-shop-sfn",
        state_machine_log_group="/aws/vendedlogs/states/lakehouse-prod-shop", schedule_rule="lakehouse-prod-shop-start",
        start_role="lakehouse-prod-shop-start")


def settings(mode: str = "ON_DEMAND") -> WorkflowSettings:
    return WorkflowSettings(start_mode=mode, schedule="cron(0 2 * * ? *)", event_batch_size=10,
                            event_batch_window_seconds=900, max_concurrent_runs=1)


def glue_jobs(pipeline) -> dict[str, str]:
    return {j.name: f"lakehouse-prod-shop-{j.name}" for j in pipeline.jobs}


def crawler_args(pipeline, **kw) -> GlueCrawlerArgs:
    return GlueCrawlerArgs(pipeline=pipeline, names=names(), aws=CTX, raw_bucket=RAW,
                           security_configuration=SECURITY_CONFIGURATION, key_alias=KEY_ALIAS,
                           kms_key_arn=CTX.arn("kms", "key/k"), log_retention_days=365, tags=TAGS, protect=True, **kw)


def machine_args(pipeline, mode: str = "ON_DEMAND", **kw) -> PipelineStateMachineArgs:
    return PipelineStateMachineArgs(
        pipeline=pipeline, names=names(), aws=CTX, job_names=glue_jobs(pipeline), alerts_topic_arn=TOPIC,
        kms_key_arn=CTX.arn("kms", "key/k"), key_alias=KEY_ALIAS, log_retention_days=365, settings=settings(mode),
        tags=TAGS, crawler_name=names().crawler, raw_bucket=RAW, protect=True, **kw)


def step_functions_stack(pipeline, mode: str = "ON_DEMAND"):
    def program():
        crawler = GlueCrawler("shop-crawler", crawler_args(pipeline))
        PipelineStateMachine("shop", machine_args(pipeline, mode), opts=pulumi.ResourceOptions(depends_on=[crawler]))
    return run_program(program, stack="prod")


def workflow_stack(pipeline):
    def program():
        crawler = GlueCrawler("shop-crawler", crawler_args(pipeline))
        GlueWorkflow("shop", GlueWorkflowArgs(
            pipeline=pipeline, workflow_name="lakehouse-prod-shop", job_names=glue_jobs(pipeline),
            settings=settings(), tags=TAGS, crawler_name=crawler.name))
    return run_program(program, stack="prod")


def doc(value) -> dict:
    return json.loads(value) if isinstance(value, str) else value


def policy_of(ev, role_name: str) -> dict:
    role = next(r for r in ev.of_type(ROLE) if r.inputs["name"] == role_name)
    (policy,) = [p for p in ev.of_type(ROLE_POLICY) if role.urn in p.property_dependencies["role"]]
    return doc(policy.inputs["policy"])


def statement(document: dict, sid: str) -> dict:
    (st,) = [s for s in document["Statement"] if s["Sid"] == sid]
    return st


# --- the crawler ----------------------------------------------------------------------------

def test_the_crawler_catalogs_the_declared_prefixes_into_the_raw_database_and_logs_schema_changes(pipeline_of):
    ev = step_functions_stack(pipeline_of("step_functions"))
    crawler = ev.one(CRAWLER).inputs
    assert crawler["name"] == "lakehouse-prod-shop-crawler"
    assert crawler["databaseName"] == "lakehouse_prod_raw"
    assert crawler["tablePrefix"] == "shop_raw_"
    assert crawler["s3Targets"] == [{"path": f"s3://{RAW}/shop/orders/"}, {"path": f"s3://{RAW}/shop/customers/"}]
    assert crawler["securityConfiguration"] == SECURITY_CONFIGURATION
    assert crawler["schemaChangePolicy"] == {"updateBehavior": "LOG", "deleteBehavior": "LOG"}
    assert crawler["recrawlPolicy"] == {"recrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}
    # tables at the prefixes' level (bucket 1, shop 2, orders 3): one per prefix, named by its last folder
    assert json.loads(crawler["configuration"])["Grouping"] == {
        "TableGroupingPolicy": "CombineCompatibleSchemas", "TableLevelConfiguration": 3}
    assert crawler["tags"] == TAGS
    role = next(r for r in ev.of_type(ROLE) if r.inputs["name"] == "lakehouse-prod-shop-crawler")
    assert ev.one(CRAWLER).property_dependencies["role"] == [role.urn]


def test_the_crawler_logs_to_its_own_encrypted_group(pipeline_of):
    ev = step_functions_stack(pipeline_of("step_functions"))
    group = next(g for g in ev.of_type(LOG_GROUP) if g.inputs["name"].startswith("/aws-glue/crawlers-role/"))
    assert group.inputs["name"] == names().crawler_log_group
    assert group.inputs["kmsKeyId"] == CTX.arn("kms", "key/k") and group.inputs["retentionInDays"] == 365
    assert group.urn in ev.one(CRAWLER).explicit_dependencies


def test_the_crawler_role_reads_only_its_prefixes_and_catalogs_only_its_tables(pipeline_of):
    ev = step_functions_stack(pipeline_of("step_functions"))
    role = next(r for r in ev.of_type(ROLE) if r.inputs["name"] == "lakehouse-prod-shop-crawler")
    trust = doc(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "glue.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    policy = policy_of(ev, "lakehouse-prod-shop-crawler")
    assert statement(policy, "ReadCrawledObjects")["Resource"] == [
        f"arn:aws:s3:::{RAW}/shop/customers/*", f"arn:aws:s3:::{RAW}/shop/orders/*"]
    tables = statement(policy, "CatalogCrawledTables")
    assert tables["Resource"][-1] == CTX.arn("glue", "table/lakehouse_prod_raw/shop_raw_*")
    assert not any(a.startswith("glue:Delete") for a in tables["Action"])
    assert statement(policy, "WriteOwnLogGroup")["Resource"] == CTX.arn(
        "logs", f"log-group:{names().crawler_log_group}:*")
    assert statement(policy, "DecryptRawObjects")["Condition"]["StringEquals"] == {
        "kms:ViaService": [f"s3.{DEFAULT_REGION}.amazonaws.com"]}
    resources = [r for st in policy["Statement"] for r in ([st["Resource"]] if isinstance(st["Resource"], str)
                                                            else st["Resource"])]
    assert "*" not in resources
    assert parliament_findings(policy) == []


@pytest.mark.parametrize("change, problem", [
    ({"delete_behavior": "DELETE_FROM_DATABASE"},
     "GlueCrawler lakehouse-prod-shop-crawler: delete_behavior: got 'DELETE_FROM_DATABASE'; allowed: LOG (a "
     "crawler never deletes from the catalog)"),
    ({"update_behavior": "UPDATE_IN_DATABASE"},
     "GlueCrawler lakehouse-prod-shop-crawler: update_behavior: got 'UPDATE_IN_DATABASE'; allowed: LOG with recrawl "
     "CRAWL_NEW_FOLDERS_ONLY (Glue accepts only LOG/LOG for incremental crawls)"),
])
def test_a_crawler_that_would_delete_or_that_glue_refuses_fails_before_registration(pipeline_of, change, problem):
    with pytest.raises(ConfigError) as err:
        validate_crawler(crawler_args(pipeline_of("step_functions"), **change))
    assert err.value.problems == [problem]


# --- the state machine ----------------------------------------------------------------------

def test_the_state_machine_is_standard_logged_traced_and_encrypted_with_the_lake_key(pipeline_of):
    ev = step_functions_stack(pipeline_of("step_functions"))
    machine = ev.one(MACHINE).inputs
    assert machine["name"] == "lakehouse-prod-shop" and machine["type"] == "STANDARD"
    assert machine["loggingConfiguration"] == {
        "level": "ALL", "includeExecutionData": False,
        "logDestination": CTX.arn("logs", "log-group:/aws/vendedlogs/states/lakehouse-prod-shop:*")}
    assert machine["tracingConfiguration"] == {"enabled": True}
    assert machine["encryptionConfiguration"] == {"type": "CUSTOMER_MANAGED_KMS_KEY",
                                                  "kmsKeyId": CTX.arn("kms", "key/k"),
                                                  "kmsDataKeyReusePeriodSeconds": 300}
    group = next(g for g in ev.of_type(LOG_GROUP) if g.inputs["name"] == names().state_machine_log_group)
    assert group.inputs["kmsKeyId"] == CTX.arn("kms", "key/k")
    assert group.urn in ev.one(MACHINE).explicit_dependencies


def test_the_definition_runs_the_crawler_then_every_job_of_the_pipeline(pipeline_of):
    pipeline = pipeline_of("step_functions")
    definition = json.loads(step_functions_stack(pipeline).one(MACHINE).inputs["definition"])
    assert definition["States"][definition["StartAt"]]["Resource"] == START_CRAWLER
    ran = sorted(s["Parameters"]["JobName"] for _, s in tasks(definition) if s["Resource"] == GLUE_JOB_SYNC)
    assert ran == sorted(glue_jobs(pipeline).values())
    assert sum(s["Type"] == "Parallel" for s in definition["States"].values()) == 1  # orders | customers


def test_the_state_machine_role_runs_exactly_its_jobs_and_crawler(pipeline_of):
    pipeline = pipeline_of("step_functions")
    ev = step_functions_stack(pipeline)
    role = next(r for r in ev.of_type(ROLE) if r.inputs["name"] == "lakehouse-prod-shop-sfn")
    trust = doc(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                                  "ArnLike": {"aws:SourceArn": state_machine_arn(CTX, "lakehouse-prod-shop")}}
    policy = policy_of(ev, "lakehouse-prod-shop-sfn")
    assert statement(policy, "RunPipelineJobs")["Resource"] == sorted(
        CTX.arn("glue", f"job/{g}") for g in glue_jobs(pipeline).values())
    assert statement(policy, "RunPipelineCrawler")["Resource"] == CTX.arn("glue", "crawler/lakehouse-prod-shop-crawler")
    assert statement(policy, "PublishAlerts")["Resource"] == TOPIC
    star = sorted(s["Sid"] for s in policy["Statement"] if s["Resource"] == "*")
    assert star == ["DeliverLogs", "SendTraces"]
    assert all(not a.startswith(("glue:", "states:", "sns:")) for sid in star
               for a in statement(policy, sid)["Action"])
    own = statement(policy, "EncryptOwnExecutionData")["Condition"]["StringEquals"]
    assert own["kms:EncryptionContext:aws:states:stateMachineArn"] == state_machine_arn(CTX, "lakehouse-prod-shop")
    assert own["kms:ViaService"] == [f"states.{DEFAULT_REGION}.amazonaws.com"]
    assert parliament_findings(policy) == []


def test_on_demand_has_no_start_rule_and_a_scheduled_stack_starts_it_through_a_role_scoped_to_it(pipeline_of):
    assert not step_functions_stack(pipeline_of("step_functions")).of_type(RULE)
    ev = step_functions_stack(pipeline_of("step_functions"), "SCHEDULED")
    rule = ev.one(RULE).inputs
    assert rule["scheduleExpression"] == "cron(0 2 * * ? *)" and rule["state"] == "ENABLED"
    target = ev.one(TARGET)
    assert ev.one(MACHINE).urn in target.property_dependencies["arn"]
    start_role = next(r for r in ev.of_type(ROLE) if r.inputs["name"] == "lakehouse-prod-shop-start")
    assert start_role.urn in target.property_dependencies["roleArn"]
    policy = policy_of(ev, "lakehouse-prod-shop-start")
    assert statement(policy, "StartStateMachine") == {
        "Sid": "StartStateMachine", "Effect": "Allow", "Action": "states:StartExecution",
        "Resource": state_machine_arn(CTX, "lakehouse-prod-shop")}
    assert parliament_findings(policy) == []


def test_an_event_stack_starts_it_on_raw_objects_under_the_pipeline_prefixes(pipeline_of):
    ev = step_functions_stack(pipeline_of("step_functions"), "EVENT")
    pattern = json.loads(ev.one(RULE).inputs["eventPattern"])
    assert pattern["detail"] == {"bucket": {"name": [RAW]}, "object": {"key": [{"prefix": "shop/"}]}}


def test_a_glue_workflow_pipeline_is_refused_by_the_state_machine(pipeline_of):
    with pytest.raises(ConfigError, match="orchestrator: got 'glue_workflow'; allowed: step_functions"):
        run_program(lambda: PipelineStateMachine("x", machine_args(pipeline_of("glue_workflow"))), stack="prod")


# --- the Glue workflow with a crawler --------------------------------------------------------

def test_under_a_glue_workflow_the_crawler_starts_first_and_its_success_starts_the_root_jobs(pipeline_of):
    ev = workflow_stack(pipeline_of("glue_workflow"))
    triggers = {t.inputs["name"]: t for t in ev.of_type(TRIGGER)}
    start = triggers["lakehouse-prod-shop-start"].inputs
    assert start["actions"] == [{"crawlerName": "lakehouse-prod-shop-crawler"}]
    after = triggers["lakehouse-prod-shop-after-crawler"]
    assert after.inputs["predicate"] == {"logical": "AND", "conditions": [
        {"crawlerName": "lakehouse-prod-shop-crawler", "crawlState": "SUCCEEDED", "logicalOperator": "EQUALS"}]}
    assert after.inputs["actions"] == [{"jobName": "lakehouse-prod-shop-extract"}]
    assert ev.one(CRAWLER).urn in after.property_dependencies["predicate"]
    assert triggers["lakehouse-prod-shop-after-extract"].inputs["actions"] == [
        {"jobName": "lakehouse-prod-shop-orders"}, {"jobName": "lakehouse-prod-shop-customers"}]
    assert not ev.of_type(MACHINE)


def test_a_workflow_without_the_crawler_of_its_pipeline_is_refused(pipeline_of):
    def program():
        GlueWorkflow("shop", GlueWorkflowArgs(pipeline=pipeline_of("glue_workflow"), workflow_name="w",
                                              job_names=glue_jobs(pipeline_of("glue_workflow")), settings=settings(),
                                              tags=TAGS))
    with pytest.raises(ConfigError, match="crawler_name: got None; allowed: the crawler's name exactly when"):
        run_program(program, stack="prod")


# --- AWS requests and the policy pack --------------------------------------------------------

@pytest.mark.parametrize("build", ["step_functions", "glue_workflow", "scheduled", "event"])
def test_every_create_request_is_valid_for_botocore(pipeline_of, build):
    ev = (workflow_stack(pipeline_of("glue_workflow")) if build == "glue_workflow"
          else step_functions_stack(pipeline_of("step_functions"),
                                    {"scheduled": "SCHEDULED", "event": "EVENT"}.get(build, "ON_DEMAND")))
    errors = [e for r in ev if r.type.startswith("aws:")
              for e in resource_errors(r.type, r.name, r.props, Ctx(r.name, r.id))]
    assert errors == []


@pytest.mark.parametrize("build", ["step_functions", "glue_workflow", "scheduled"])
def test_the_pack_passes_the_crawler_and_both_orchestrators(pipeline_of, build):
    ev = (workflow_stack(pipeline_of("glue_workflow")) if build == "glue_workflow"
          else step_functions_stack(pipeline_of("step_functions"), "SCHEDULED" if build == "scheduled"
                                    else "ON_DEMAND"))
    assert policy_violations(ev, "prod") == []


@pytest.mark.parametrize("rtype, change, expected", [
    (CRAWLER, lambda p: p["recrawlPolicy"].update(recrawlBehavior="CRAWL_SOMETIMES"),
     "RecrawlPolicy.RecrawlBehavior"),
    (CRAWLER, lambda p: p.update(tablePrefix="x" * 200), "TablePrefix"),
    (MACHINE, lambda p: p["loggingConfiguration"].update(level="VERBOSE"), "loggingConfiguration.level"),
    (MACHINE, lambda p: p["encryptionConfiguration"].update(kmsDataKeyReusePeriodSeconds=30),
     "encryptionConfiguration.kmsDataKeyReusePeriodSeconds"),
])
def test_the_request_builders_catch_a_bad_field(pipeline_of, rtype, change, expected):
    import copy

    r = step_functions_stack(pipeline_of("step_functions")).one(rtype)
    props = copy.deepcopy(r.props)
    change(props)
    errors = resource_errors(r.type, r.name, props, Ctx(r.name, r.id))
    assert len(errors) == 1 and expected in errors[0], errors
