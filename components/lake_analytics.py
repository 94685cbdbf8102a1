"""LakeAnalytics: gold served to analysts through Athena, read-only.

- the stack's workgroup, its configuration enforced on every query: results in the temp
  bucket's `athena-results/` prefix, SSE-KMS with the lake key, the expected bucket owner, a
  per-query bytes-scanned cutoff from config (`athenaBytesScannedCutoffMb`), the engine version
  pinned (lakehouse.model.analytics.ATHENA_ENGINE_VERSION), CloudWatch metrics on;
- the analyst role (lakehouse.model.iam.analyst_role_policy): principals of this account with
  MFA may assume it; it queries through that workgroup only and reads the gold tables of the
  deployed pipelines, nothing of raw, bronze or silver;
- the headline questions as named queries (lakehouse.model.analytics).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from lakehouse.model.analytics import ATHENA_ENGINE_VERSION, HeadlineQuery
from lakehouse.model.iam import AnalystGrant, analyst_role_policy, analyst_trust_policy
from lakehouse.model.names import AwsContext

TYPE = "glue-lakehouse:components:LakeAnalytics"
ANALYST_TAG = {"lakehouse:access": "analyst"}  # the pack finds the analyst role by it


@dataclass(frozen=True)
class LakeAnalyticsArgs:
    grant: AnalystGrant
    analyst_role: str
    queries: tuple[HeadlineQuery, ...]
    bytes_cutoff_mb: int
    kms_key_arn: pulumi.Input[str]
    aws: AwsContext
    force_destroy: bool = False  # dev: `pulumi destroy` removes the workgroup with its query history


class LakeAnalytics(pulumi.ComponentResource):
    workgroup: aws.athena.Workgroup
    analyst_role: aws.iam.Role

    def __init__(self, name: str, args: LakeAnalyticsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        g = args.grant
        self.workgroup = aws.athena.Workgroup(
            f"{name}-workgroup",
            name=g.workgroup,
            description="Read-only queries of the gold zone",
            state="ENABLED",
            force_destroy=args.force_destroy,
            configuration=aws.athena.WorkgroupConfigurationArgs(
                enforce_workgroup_configuration=True,
                publish_cloudwatch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=args.bytes_cutoff_mb * 1_000_000,
                requester_pays_enabled=False,
                engine_version=aws.athena.WorkgroupConfigurationEngineVersionArgs(
                    selected_engine_version=ATHENA_ENGINE_VERSION),
                result_configuration=aws.athena.WorkgroupConfigurationResultConfigurationArgs(
                    output_location=f"s3://{g.results_bucket}/{g.results_prefix}",
                    expected_bucket_owner=args.aws.account_id,
                    encryption_configuration=aws.athena.WorkgroupConfigurationResultConfigurationEncryptionConfigurationArgs(
                        encryption_option="SSE_KMS", kms_key_arn=args.kms_key_arn),
                ),
            ),
            opts=child,
        )
        self.analyst_role = aws.iam.Role(
            f"{name}-analyst", name=args.analyst_role, description="Read-only Athena queries of the gold zone",
            assume_role_policy=json.dumps(analyst_trust_policy(args.aws)), max_session_duration=3600,
            tags=dict(ANALYST_TAG), opts=child)
        self.analyst_policy = aws.iam.RolePolicy(
            f"{name}-analyst-policy", role=self.analyst_role.id,
            policy=json.dumps(analyst_role_policy(args.aws, g)), opts=child)
        self.named_queries = [
            aws.athena.NamedQuery(
                f"{name}-{q.name}", name=q.name, description=q.description, database=g.gold_database,
                workgroup=self.workgroup.name, query=q.sql, opts=child)
            for q in args.queries
        ]
        self.register_outputs({"workgroup": self.workgroup.name, "analystRoleArn": self.analyst_role.arn})
