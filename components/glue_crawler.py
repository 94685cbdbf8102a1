"""GlueCrawler: one pipeline's crawler over its raw-zone prefixes, cataloging one table per prefix.

- S3 targets: the pipeline's declared crawler prefixes in the raw bucket; tables go to the raw zone's
  Glue database, named `<table_prefix><last folder>` (CrawlerSpec.tables(): the crawler makes its
  tables at the prefixes' folder level, TableLevelConfiguration, compatible schemas combined);
- the stack's security configuration (the lake key encrypts the crawler's CloudWatch logs);
- schema change policy LOG / LOG: a changed or deleted source is logged, never applied as a delete
  from (or a silent rewrite of) the catalog; the jobs evolve their Iceberg tables themselves;
- recrawl CRAWL_NEW_FOLDERS_ONLY: each run reads only folders added since the last one (new
  batches). Glue accepts that recrawl behaviour only with LOG for both update and delete behaviour
  (validate_crawler checks it before anything is registered);
- its own role (Glue-only trust for this account; lakehouse.model.iam.crawler_role_policy) and its
  own KMS-encrypted log group with the stack's retention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from lakehouse.model.errors import Problems
from lakehouse.model.iam import CrawlerGrant, crawler_role_policy, glue_trust_policy
from lakehouse.model.names import AwsContext, OrchestrationNames
from lakehouse.model.pipelines import PipelineSpec

TYPE = "glue-lakehouse:components:GlueCrawler"

UPDATE_BEHAVIOR = "LOG"
DELETE_BEHAVIOR = "LOG"
RECRAWL_BEHAVIOR = "CRAWL_NEW_FOLDERS_ONLY"
# Glue refuses CRAWL_NEW_FOLDERS_ONLY unless both behaviours are LOG (CreateCrawler: "The SchemaChangePolicy
# for 'Crawl new folders only' Amazon S3 target can have only LOG DeleteBehavior value and LOG UpdateBehavior
# value").
INCREMENTAL_SCHEMA_POLICY = {"update": ("LOG",), "delete": ("LOG",)}


@dataclass(frozen=True)
class GlueCrawlerArgs:
    pipeline: PipelineSpec
    names: OrchestrationNames
    aws: AwsContext
    raw_bucket: str
    security_configuration: str
    key_alias: str
    kms_key_arn: pulumi.Input[str]
    log_retention_days: int
    tags: Mapping[str, str]
    update_behavior: str = UPDATE_BEHAVIOR
    delete_behavior: str = DELETE_BEHAVIOR
    recrawl_behavior: str = RECRAWL_BEHAVIOR
    protect: bool = False  # prod: log group deletion protection


def validate_crawler(args: GlueCrawlerArgs) -> None:
    p = Problems()
    where = f"GlueCrawler {args.names.crawler}"
    if args.pipeline.crawler is None:
        p.add(f"{where}: pipeline", args.pipeline.name, "a pipeline declaring `crawler:`")
    if args.delete_behavior != "LOG":
        p.add(f"{where}: delete_behavior", args.delete_behavior, "LOG (a crawler never deletes from the catalog)")
    if args.update_behavior not in ("LOG", "UPDATE_IN_DATABASE"):
        p.add(f"{where}: update_behavior", args.update_behavior, "LOG | UPDATE_IN_DATABASE")
    if args.recrawl_behavior not in ("CRAWL_EVERYTHING", "CRAWL_NEW_FOLDERS_ONLY"):
        p.add(f"{where}: recrawl_behavior", args.recrawl_behavior, "CRAWL_EVERYTHING | CRAWL_NEW_FOLDERS_ONLY")
    elif args.recrawl_behavior == "CRAWL_NEW_FOLDERS_ONLY" and args.update_behavior not in \
            INCREMENTAL_SCHEMA_POLICY["update"]:
        p.add(f"{where}: update_behavior", args.update_behavior,
              "LOG with recrawl CRAWL_NEW_FOLDERS_ONLY (Glue accepts only LOG/LOG for incremental crawls)")
    p.raise_if_any()


def crawler_grant(args: GlueCrawlerArgs) -> CrawlerGrant:
    spec = args.pipeline.crawler
    assert spec is not None  # validate_crawler
    return CrawlerGrant(role_name=args.names.crawler_role, raw_bucket=args.raw_bucket, prefixes=spec.prefixes,
                        database=args.names.raw_database, table_prefix=spec.table_prefix,
                        log_group=args.names.crawler_log_group, key_alias=args.key_alias)


def crawler_configuration(args: GlueCrawlerArgs) -> dict:
    """The crawler's Configuration JSON: tables at the prefixes' level, one per prefix, compatible schemas
    combined into it; new partitions take the table's schema."""
    spec = args.pipeline.crawler
    assert spec is not None
    return {
        "Version": 1.0,
        "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas", "TableLevelConfiguration": spec.table_level()},
        "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}},
    }


class GlueCrawler(pulumi.ComponentResource):
    crawler: aws.glue.Crawler
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: GlueCrawlerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        validate_crawler(args)
        spec = args.pipeline.crawler
        assert spec is not None
        n = args.names
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.role = aws.iam.Role(f"{name}-role", name=n.crawler_role, description=f"Glue crawler {n.crawler}",
                                 assume_role_policy=json.dumps(glue_trust_policy(args.aws)), tags=tags, opts=child)
        self.policy = aws.iam.RolePolicy(f"{name}-policy", role=self.role.id,
                                         policy=json.dumps(crawler_role_policy(args.aws, crawler_grant(args))),
                                         opts=child)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=n.crawler_log_group, retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn, deletion_protection_enabled=args.protect, tags=tags, opts=child)
        self.crawler = aws.glue.Crawler(
            name,
            name=n.crawler,
            description=f"Catalogs {', '.join(spec.prefixes)} of the raw zone for pipeline {args.pipeline.name}",
            role=self.role.arn,
            database_name=n.raw_database,
            table_prefix=spec.table_prefix,
            s3_targets=[aws.glue.CrawlerS3TargetArgs(path=f"s3://{args.raw_bucket}/{p}") for p in spec.prefixes],
            security_configuration=args.security_configuration,
            schema_change_policy=aws.glue.CrawlerSchemaChangePolicyArgs(
                update_behavior=args.update_behavior, delete_behavior=args.delete_behavior),
            recrawl_policy=aws.glue.CrawlerRecrawlPolicyArgs(recrawl_behavior=args.recrawl_behavior),
            configuration=json.dumps(crawler_configuration(args)),
            tags=tags,
            # runnable once its permissions and log group exist
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy, self.log_group]),
        )
        self.name = self.crawler.name
        self.arn = self.crawler.arn
        self.register_outputs({"name": self.name, "roleArn": self.role.arn, "logGroup": self.log_group.name,
                               "tables": list(spec.tables())})
