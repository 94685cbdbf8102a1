"""LakeBuckets: the lake's customer-managed KMS key and its seven buckets.

One key (rotation on, an alias) encrypts every bucket, the job log groups, the alert topic,
the Data Catalog and the Glue security configuration. Buckets: raw landing zone, one per
lake zone (bronze, silver, gold), Glue scripts/artifacts, Glue temp, and logs.

Log delivery to a KMS-encrypted bucket: S3 server access logs are delivered to a target
bucket whose default encryption is SSE-KMS with a customer-managed key when the key policy
lets the logging service principal (logging.s3.amazonaws.com) generate data keys - the
AWS-managed aws/s3 key is the case that does not work. So the logs bucket is SSE-KMS with
the lake key and a Bucket Key like every other bucket, and the key policy and the logs
bucket policy admit logging.s3.amazonaws.com only for the stack's own buckets
(aws:SourceAccount + aws:SourceArn). If an account cannot use that, switching the logs
bucket alone to SSE-S3 (AES256) is the documented fallback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from lakehouse.model.config import BucketSettings
from lakehouse.model.iam import bucket_policy, lake_key_policy, logs_bucket_policy, vpc_flow_logs_key_statement
from lakehouse.model.names import AwsContext, LakeNames

from .secure_bucket import SecureBucket, SecureBucketArgs, lifecycle_rules

TYPE = "glue-lakehouse:components:LakeBuckets"
BUCKET_ROLE_TAG = "lakehouse:bucket-role"  # raw, bronze, silver, gold, scripts, temp, logs


@dataclass(frozen=True)
class LakeBucketsArgs:
    names: LakeNames
    aws: AwsContext
    settings: BucketSettings
    kms_deletion_window_days: int
    protect: bool = False  # prod: Pulumi refuses to delete the key and the buckets
    vpc_flow_log_group: Optional[str] = None  # a created VPC's flow-log group: the key encrypts it too
    # more key policy statements, known from names (lakehouse.model.iam.orchestration_key_statements)
    extra_key_statements: tuple[dict, ...] = ()


def key_policy_json(args: LakeBucketsArgs) -> str:
    n = args.names
    logged = [args.aws.s3_arn(b) for role, b in n.buckets.items() if role != "logs"]
    policy = lake_key_policy(
        args.aws,
        log_group_prefix=n.log_group_prefix,
        alerts_topic_arn=args.aws.arn("sns", n.alerts_topic),
        access_logged_bucket_arns=logged,
    )
    if args.vpc_flow_log_group:
        policy["Statement"].append(vpc_flow_logs_key_statement(args.aws, args.vpc_flow_log_group))
    policy["Statement"].extend(args.extra_key_statements)
    return json.dumps(policy)


class LakeBuckets(pulumi.ComponentResource):
    key: aws.kms.Key
    key_arn: pulumi.Output[str]
    buckets: dict[str, SecureBucket]  # by role: raw, bronze, silver, gold, scripts, temp, logs

    def __init__(self, name: str, args: LakeBucketsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        n = args.names
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"{n.base}: lake data, job logs, alerts, Data Catalog",
            enable_key_rotation=True,
            deletion_window_in_days=args.kms_deletion_window_days,
            policy=key_policy_json(args),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.kms.Alias(f"{name}-key-alias", name=n.key_alias, target_key_id=self.key.key_id,
                      opts=pulumi.ResourceOptions(parent=self))
        self.key_arn = self.key.arn

        others = [b for role, b in n.buckets.items() if role != "logs"]
        logs = self._bucket(name, args, "logs", logs_bucket_policy(args.aws, n.buckets["logs"], others), None)
        self.buckets = {"logs": logs}
        for role in n.buckets:
            if role != "logs":
                self.buckets[role] = self._bucket(name, args, role, bucket_policy(args.aws, n.buckets[role]), logs)

        self.names = {role: b.name for role, b in self.buckets.items()}
        self.arns = {role: b.arn for role, b in self.buckets.items()}
        self.register_outputs({"keyArn": self.key_arn, "bucketNames": self.names, "bucketArns": self.arns})

    def _bucket(self, name: str, args: LakeBucketsArgs, role: str, policy: dict,
                logs: Optional[SecureBucket]) -> SecureBucket:
        return SecureBucket(
            f"{name}-{role}",
            SecureBucketArgs(
                bucket_name=args.names.buckets[role],
                tags={BUCKET_ROLE_TAG: role},  # which zone or use: the pack's analyst check reads it
                kms_key_arn=self.key.arn,
                policy=json.dumps(policy),
                lifecycle=lifecycle_rules(role, args.settings),
                force_destroy=args.settings.force_destroy,
                log_bucket=logs.bucket.id if logs else None,
                protect=args.protect,
                # access logs are accepted once the logs bucket policy admits the logging service
                depends_on=(logs.policy,) if logs else (),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
