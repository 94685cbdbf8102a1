"""glue-lakehouse: read the stack's configuration, compose the components, export what users need.

Every key of the stack's configuration (not only those declared in Pulumi.yaml) is read raw and
validated by lakehouse.model.config.parse_stack_config before any resource exists, as the local
runner validates Pulumi.<stack>.yaml: an unknown key or namespace, like a bad value, fails with one
error listing every problem and registers nothing.
"""

import pulumi
import pulumi_aws as aws

from components import (
    CaBundle,
    CaBundleArgs,
    DataQualityRulesets,
    DataQualityRulesetsArgs,
    GlueJob,
    GlueJobArgs,
    GlueLibrary,
    GlueLibraryArgs,
    GlueRdsConnection,
    GlueRdsConnectionArgs,
    GlueWorkflow,
    GlueWorkflowArgs,
    JobAlerts,
    JobAlertsArgs,
    LakeAnalytics,
    LakeAnalyticsArgs,
    LakeBuckets,
    LakeBucketsArgs,
    LakeCatalog,
    LakeCatalogArgs,
    LakeMonitoring,
    LakeMonitoringArgs,
    enable_raw_eventbridge,
    standard_tags_transform,
)
from components.glue_crawler import GlueCrawler, GlueCrawlerArgs
from components.glue_rds_connection import vpc_flow_log_group
from components.pipeline_state_machine import PipelineStateMachine, PipelineStateMachineArgs
from components.table_optimizers import TableOptimizers, TableOptimizersArgs
from lakehouse.model.analytics import gold_tables, headline_queries
from lakehouse.model.config import StackConfig, parse_stack_config
from lakehouse.model.iam import AnalystGrant, orchestration_key_statements
from lakehouse.model.monitoring import alarm_names, monitoring_plan
from lakehouse.model.names import (
    AwsContext,
    lake_names,
    name_problems,
    orchestration_name_problems,
    orchestration_names,
)
from lakehouse.model.pipelines import GLUE_SCRIPTS_DIR
from lakehouse.model.table_optimizers import ROLE_SUFFIX as OPTIMIZERS_ROLE_SUFFIX
from lakehouse.model.table_optimizers import optimizer_log_groups
from lakehouse.model.zones import LAKE_ZONES


def stack_config_values() -> tuple[dict[str, str], set[str]]:
    """Every key of the stack's configuration with its raw value, and the keys holding secrets:
    the engine's language host hands the program the whole configuration as the PULUMI_CONFIG bag
    (pulumi.Config can only look up keys already known); lakehouse.offline does the same."""
    keys = pulumi.runtime.get_config_env()
    secret = {k for k in keys if pulumi.runtime.is_config_secret(k)} | set(pulumi.runtime.get_config_secret_keys_env())
    return {key: pulumi.runtime.get_config(key) for key in sorted(keys)}, secret


def read_config() -> StackConfig:
    values, secret_keys = stack_config_values()
    return parse_stack_config(pulumi.get_stack(), values, secret_keys)


def aws_context(region: str) -> AwsContext:
    identity, partition = aws.get_caller_identity(), aws.get_partition()
    return AwsContext(identity.account_id, region, partition.partition, partition.dns_suffix)


def main() -> None:
    cfg = read_config()
    region = pulumi.Config("aws").require("region")
    ctx = aws_context(region)
    names = lake_names(cfg, ctx.account_id)
    name_problems(cfg, names).raise_if_any()
    orchestration_name_problems(cfg, names.security_configuration).raise_if_any()
    # each pipeline's crawler and state machine names (used when it declares a crawler / step_functions)
    orchestration = {p.name: orchestration_names(cfg, p.name, names.security_configuration) for p in cfg.pipelines}
    crawled = [p for p in cfg.pipelines if p.crawler is not None]
    machines = [p for p in cfg.pipelines if p.orchestrator == "step_functions"]
    raw_database = {"raw": cfg.database_name("raw")} if crawled else {}
    protect = cfg.environment == "prod"  # deletion protection where it applies

    pulumi.runtime.register_resource_transform(standard_tags_transform(cfg.tags))
    provider = aws.Provider("aws", region=region, default_tags=aws.ProviderDefaultTagsArgs(tags=dict(cfg.tags)))
    opts = pulumi.ResourceOptions(providers={"aws": provider})

    # a created VPC's flow logs are encrypted with the lake key: its policy names their log group
    flow_log_group = vpc_flow_log_group(names.base) if cfg.needs_connection and cfg.network.create else None
    lake = LakeBuckets("lake", LakeBucketsArgs(names, ctx, cfg.buckets, cfg.kms_deletion_window_days, protect,
                                               vpc_flow_log_group=flow_log_group,
                                               extra_key_statements=tuple(orchestration_key_statements(
                                                   ctx, state_machines=[orchestration[p.name].state_machine
                                                                        for p in machines],
                                                   log_groups=[orchestration[p.name].crawler_log_group
                                                               for p in crawled]
                                                   + [orchestration[p.name].state_machine_log_group
                                                      for p in machines]
                                                   + list(optimizer_log_groups(cfg.table_optimizers))))), opts)
    after_lake = opts.merge(pulumi.ResourceOptions(depends_on=[lake]))
    catalog = LakeCatalog("catalog", LakeCatalogArgs(
        databases={**names.databases, **raw_database},
        zone_buckets={z: lake.names[z] for z in LAKE_ZONES + tuple(raw_database)}, kms_key_arn=lake.key_arn,
        security_configuration_name=names.security_configuration, protect=protect), opts)
    jobs_in_order = [(p, j) for p in cfg.pipelines for j in p.topological_order()]
    # the dashboard and alarms; the RDS instance GlueRdsConnection creates is named <base>-postgres
    monitoring = monitoring_plan(cfg, names, region, f"{names.base}-postgres"
                                 if cfg.needs_connection and cfg.database.mode == "create" else None)
    alerts = JobAlerts("alerts", JobAlertsArgs(
        topic_name=names.alerts_topic, aws=ctx, kms_key_arn=lake.key_arn, email=cfg.alert_email,
        alarm_names=alarm_names(monitoring),
        rule_names=[rule for _, j in jobs_in_order
                    for rule in (names.job(cfg, j).failure_rule, names.job(cfg, j).delay_rule)]), opts)
    library = GlueLibrary("lakelib", GlueLibraryArgs(GLUE_SCRIPTS_DIR / "lakelib", names.buckets["scripts"],
                                                     lake.key_arn), after_lake)
    connection = ca_bundle = None
    if cfg.needs_connection:
        # the database's certificate is verified against it (sslmode=verify-full) by the jobs on the connection
        ca_bundle = CaBundle("rds-ca-bundle", CaBundleArgs(names.buckets["scripts"], lake.key_arn), after_lake)
        connection = GlueRdsConnection("postgres", GlueRdsConnectionArgs(
            name_prefix=names.base, environment=cfg.environment, region=region, network=cfg.network,
            database=cfg.database, kms_key_arn=lake.key_arn, key_alias=names.key_alias, tags=cfg.tags,
            dns_suffix=ctx.dns_suffix, account_id=ctx.account_id, partition=ctx.partition,
            bucket_names=sorted(names.buckets.values()), log_retention_days=cfg.log_retention_days), opts)

    # the declared data-quality rules of each table, as Glue DQDL rulesets (the jobs evaluate the same rules)
    DataQualityRulesets("quality", DataQualityRulesetsArgs(
        jobs=[j for _, j in jobs_in_order], databases=catalog.database_names, name_prefix=names.base), opts)

    jobs: dict[str, GlueJob] = {}
    for pipeline, job in jobs_in_order:
        with_connection = connection is not None and job.connection
        after = [lake, catalog, library] + ([ca_bundle] if with_connection else [])
        jobs[job.key] = GlueJob(f"{pipeline.name}-{job.name}", GlueJobArgs(
            job=job, settings=cfg.job_settings[job.key], names=names.job(cfg, job), aws=ctx, buckets=names.buckets,
            databases={**names.databases, **(raw_database if pipeline.crawler else {})}, kms_key_arn=lake.key_arn,
            security_configuration=names.security_configuration,
            library_key=library.key, library_uri=library.uri, alerts_topic_arn=alerts.topic_arn,
            log_retention_days=cfg.log_retention_days, protect=protect,
            connections=[connection.connection_name] if with_connection else (),
            extra_statements=connection.job_statements(ctx) if with_connection else (),
            ca_bundle_key=ca_bundle.key if with_connection else None,
            ca_bundle_uri=ca_bundle.uri if with_connection else None,
        ), opts.merge(pulumi.ResourceOptions(depends_on=after)))

    workflows, crawlers, state_machines = {}, {}, {}
    for pipeline in cfg.pipelines:
        o = orchestration[pipeline.name]
        if pipeline.crawler is not None:  # catalogs its raw prefixes before the first jobs run
            crawlers[pipeline.name] = GlueCrawler(f"{pipeline.name}-crawler", GlueCrawlerArgs(
                pipeline=pipeline, names=o, aws=ctx, raw_bucket=names.buckets["raw"],
                security_configuration=names.security_configuration, key_alias=names.key_alias,
                kms_key_arn=lake.key_arn, log_retention_days=cfg.log_retention_days, tags=cfg.tags, protect=protect),
                opts.merge(pulumi.ResourceOptions(depends_on=[lake, catalog])))
        crawler = crawlers.get(pipeline.name)
        if pipeline.orchestrator == "step_functions":
            state_machines[pipeline.name] = PipelineStateMachine(pipeline.name, PipelineStateMachineArgs(
                pipeline=pipeline, names=o, aws=ctx, job_names={j.name: names.job(cfg, j).job for j in pipeline.jobs},
                alerts_topic_arn=ctx.arn("sns", names.alerts_topic), kms_key_arn=lake.key_arn,
                key_alias=names.key_alias, log_retention_days=cfg.log_retention_days, settings=cfg.workflow,
                tags=cfg.tags, crawler_name=o.crawler if crawler else None, raw_bucket=names.buckets["raw"],
                protect=protect),
                opts.merge(pulumi.ResourceOptions(depends_on=[jobs[j.key] for j in pipeline.jobs]
                                                  + ([crawler] if crawler else []) + [alerts])))
            continue
        workflows[pipeline.name] = GlueWorkflow(pipeline.name, GlueWorkflowArgs(
            pipeline=pipeline, workflow_name=cfg.resource_name(pipeline.name),
            job_names={j.name: jobs[j.key].name for j in pipeline.jobs}, settings=cfg.workflow, tags=cfg.tags,
            account_id=ctx.account_id, raw_bucket=lake.names["raw"], dns_suffix=ctx.dns_suffix,
            crawler_name=crawler.name if crawler else None), opts)
    if cfg.table_optimizers:  # Iceberg tables the jobs have created by now (tableOptimizers)
        TableOptimizers("table-optimizers", TableOptimizersArgs(
            tables=cfg.table_optimizers, role_name=cfg.resource_name(OPTIMIZERS_ROLE_SUFFIX), aws=ctx,
            buckets={z: names.buckets[z] for z in LAKE_ZONES}, databases=dict(names.databases),
            key_alias=names.key_alias, kms_key_arn=lake.key_arn, log_retention_days=cfg.log_retention_days,
            tags=cfg.tags, protect=protect), opts.merge(pulumi.ResourceOptions(depends_on=[lake, catalog])))
    if cfg.workflow.start_mode == "EVENT":
        enable_raw_eventbridge("raw-eventbridge", lake.names["raw"], after_lake)

    analytics = None
    if gold_tables(cfg.pipelines):  # gold served through Athena, read-only
        analytics = LakeAnalytics("analytics", LakeAnalyticsArgs(
            grant=AnalystGrant(
                workgroup=names.workgroup, gold_bucket=names.buckets["gold"], gold_database=names.databases["gold"],
                gold_tables=gold_tables(cfg.pipelines), results_bucket=names.buckets["temp"],
                results_prefix=names.athena_results_prefix, key_alias=names.key_alias),
            analyst_role=names.analyst_role, queries=headline_queries(cfg.pipelines),
            bytes_cutoff_mb=cfg.athena_bytes_cutoff_mb, kms_key_arn=lake.key_arn, aws=ctx,
            force_destroy=cfg.buckets.force_destroy), opts.merge(pulumi.ResourceOptions(depends_on=[lake, catalog])))

    LakeMonitoring("monitoring", LakeMonitoringArgs(plan=monitoring, alerts_topic_arn=alerts.topic_arn),
                   opts.merge(pulumi.ResourceOptions(depends_on=[alerts.policy])))

    pulumi.export("region", region)
    pulumi.export("kmsKeyArn", lake.key_arn)
    pulumi.export("buckets", lake.names)
    pulumi.export("databases", catalog.database_names)
    pulumi.export("jobs", {key: job.name for key, job in jobs.items()})
    pulumi.export("securityConfiguration", catalog.security_configuration_name)
    pulumi.export("alertsTopicArn", alerts.topic_arn)
    pulumi.export("dashboard", names.dashboard)
    pulumi.export("workflows", {name: wf.name for name, wf in workflows.items()})
    if crawlers:
        pulumi.export("crawlers", {name: c.name for name, c in crawlers.items()})
    if state_machines:
        pulumi.export("stateMachines", {name: m.arn for name, m in state_machines.items()})
    if analytics is not None:
        pulumi.export("athena", {"workgroup": analytics.workgroup.name, "database": names.databases["gold"],
                                 "analystRoleArn": analytics.analyst_role.arn})
    if connection is not None:
        pulumi.export("connection", {
            "name": connection.connection_name, "jdbcUrl": connection.jdbc_url, "vpcId": connection.vpc_id,
            "subnetId": connection.subnet_ids[0], "securityGroupId": connection.glue_security_group.id})
        pulumi.export("database", {"endpoint": connection.db_endpoint, "name": cfg.database.name,
                                   "secretArn": connection.secret_arn})


if __name__ == "__main__":
    main()
