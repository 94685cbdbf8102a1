"""TableOptimizers: Glue table optimizers on the existing Iceberg tables the stack config lists.

The stack creates no table (each job creates its tables on its first run), so the operator names the
tables that exist by now in `tableOptimizers` (lakehouse.model.table_optimizers); per table:

- compaction (binpack) and orphan-file deletion, with the pipeline's maintenance settings;
- snapshot retention, except on tables silver reads incrementally from a checkpoint (their expiry
  stays with the maintenance job, which keeps every checkpointed snapshot: OptimizedTable.optimizer_types);
- one role for all of them (Glue-only trust for this account; lakehouse.model.iam.table_optimizer_role_policy:
  exactly the listed tables' prefixes and catalog entries, the lake key through S3 and Glue only);
- the log groups Glue writes the optimizers' runs to, KMS-encrypted with the lake key, with the
  stack's retention (the lake key policy names them: __main__ passes them to orchestration_key_statements).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from lakehouse.model.iam import glue_trust_policy, table_optimizer_role_policy
from lakehouse.model.names import AwsContext
from lakehouse.model.table_optimizers import (
    LOG_GROUPS,
    OptimizedTable,
    TableOptimizerGrant,
    optimizer_configuration,
)

TYPE = "glue-lakehouse:components:TableOptimizers"


@dataclass(frozen=True)
class TableOptimizersArgs:
    tables: tuple[OptimizedTable, ...]
    role_name: str  # <prefix>-<stack>-table-optimizers
    aws: AwsContext
    buckets: Mapping[str, str]  # lake zone -> bucket
    databases: Mapping[str, str]  # lake zone -> Glue database (the caller orders this after LakeCatalog)
    key_alias: str
    kms_key_arn: pulumi.Input[str]
    log_retention_days: int
    tags: Mapping[str, str]
    protect: bool = False  # prod: log group deletion protection


def _args(value, cls_prefix: str):
    """A botocore-shaped configuration dict -> the pulumi_aws input classes (camelCase -> snake_case)."""
    out = {}
    for key, v in value.items():
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
        if isinstance(v, dict):
            name = cls_prefix + key[0].upper() + key[1:]
            v = getattr(aws.glue, f"{name}Args")(**_args(v, name))
        out[snake] = v
    return out


def optimizer_args(table: OptimizedTable, optimizer_type: str,
                   role_arn: pulumi.Input[str]) -> aws.glue.CatalogTableOptimizerConfigurationArgs:
    return aws.glue.CatalogTableOptimizerConfigurationArgs(
        enabled=True, role_arn=role_arn,
        **_args(optimizer_configuration(table, optimizer_type), "CatalogTableOptimizerConfiguration"))


class TableOptimizers(pulumi.ComponentResource):
    role: aws.iam.Role
    log_groups: dict[str, aws.cloudwatch.LogGroup]
    optimizers: dict[tuple[str, str], aws.glue.CatalogTableOptimizer]  # (<zone>.<table>, type) -> optimizer

    def __init__(self, name: str, args: TableOptimizersArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        if not args.tables:
            raise ValueError(f"TableOptimizers {name}: tables: got (); allowed: at least one table (tableOptimizers)")
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        grant = TableOptimizerGrant(role_name=args.role_name, tables=args.tables, buckets=args.buckets,
                                    databases=args.databases, key_alias=args.key_alias)
        self.role = aws.iam.Role(
            f"{name}-role", name=args.role_name,
            description="Glue table optimizers (compaction, retention, orphan-file deletion) of the listed tables",
            assume_role_policy=json.dumps(glue_trust_policy(args.aws)), tags=tags, opts=child)
        self.policy = aws.iam.RolePolicy(f"{name}-policy", role=self.role.id,
                                         policy=json.dumps(table_optimizer_role_policy(args.aws, grant)), opts=child)
        kinds = {v: k for k, v in LOG_GROUPS.items()}
        self.log_groups = {
            kinds[g]: aws.cloudwatch.LogGroup(
                f"{name}-{kinds[g].replace('_', '-')}-logs", name=g, retention_in_days=args.log_retention_days,
                kms_key_id=args.kms_key_arn, deletion_protection_enabled=args.protect, tags=tags, opts=child)
            for g in grant.log_groups}
        # an optimizer runs as soon as it exists: after its permissions and log group
        self.optimizers = {}
        for table in args.tables:
            for kind in table.optimizer_types:
                self.optimizers[(table.key, kind)] = aws.glue.CatalogTableOptimizer(
                    f"{name}-{table.zone}-{table.table}-{kind}".replace("_", "-"),
                    catalog_id=args.aws.account_id, database_name=args.databases[table.zone],
                    table_name=table.table, type=kind,
                    configuration=optimizer_args(table, kind, self.role.arn),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy, self.log_groups[kind]]))
        self.register_outputs({
            "roleArn": self.role.arn,
            "tables": {t.key: list(t.optimizer_types) for t in args.tables},
            "logGroups": sorted(grant.log_groups),
        })
