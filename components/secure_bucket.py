"""SecureBucket: one S3 bucket with every setting the lake requires, as pulumi-aws v7 resources.

pulumi-aws v7 keeps each bucket setting in its own resource; this component creates all of
them for one bucket so no bucket can miss one:
- SSE-KMS with the lake key and S3 Bucket Keys (fewer KMS calls, lower cost);
- versioning on;
- all four public access block settings on;
- ACLs disabled (object ownership BucketOwnerEnforced);
- a bucket policy that denies requests without TLS (plus what the caller adds);
- server access logging to the logs bucket (except the logs bucket itself: AWS warns that a
  bucket logging into itself produces an endless stream of logs about logs);
- lifecycle rules: non-current versions and incomplete uploads always expire, plus the
  caller's rules (temp expiry, log expiry, raw-zone transitions).
`force_destroy` comes from the stack (dev only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from lakehouse.model.config import BucketSettings
from lakehouse.model.iam import S3_ACCESS_LOG_PREFIX

TYPE = "glue-lakehouse:components:SecureBucket"
ABORT_INCOMPLETE_UPLOADS_DAYS = 7


@dataclass(frozen=True)
class LifecycleRule:
    """One lifecycle rule, as plain data (tests compare these)."""

    id: str
    prefix: str = ""  # "" = the whole bucket
    expiration_days: Optional[int] = None
    noncurrent_expiration_days: Optional[int] = None
    abort_incomplete_upload_days: Optional[int] = None
    transitions: tuple[tuple[int, str], ...] = ()  # (days, storage class)


def lifecycle_rules(role: str, settings: BucketSettings) -> list[LifecycleRule]:
    """The lifecycle of a bucket by its role in the lake."""
    rules = [LifecycleRule(
        id="expire-noncurrent-versions",
        noncurrent_expiration_days=settings.noncurrent_version_expiration_days,
        abort_incomplete_upload_days=ABORT_INCOMPLETE_UPLOADS_DAYS,
    )]
    if role == "temp":
        rules.append(LifecycleRule(id="expire-temp-objects", expiration_days=settings.temp_expiration_days))
    if role == "logs":
        rules.append(LifecycleRule(id="expire-logs", expiration_days=settings.logs_expiration_days))
    if role == "raw":
        transitions = tuple(
            (days, storage_class)
            for days, storage_class in ((settings.raw_transition_ia_days, "STANDARD_IA"),
                                        (settings.raw_transition_glacier_days, "GLACIER_IR"))
            if days
        )
        if transitions:
            rules.append(LifecycleRule(id="raw-zone-transitions", transitions=transitions))
    return rules


def _rule_args(rule: LifecycleRule) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id=rule.id,
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=rule.prefix),
        expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=rule.expiration_days)
        if rule.expiration_days else None,
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=rule.noncurrent_expiration_days) if rule.noncurrent_expiration_days else None,
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=rule.abort_incomplete_upload_days) if rule.abort_incomplete_upload_days else None,
        transitions=[aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(days=d, storage_class=c)
                     for d, c in rule.transitions] or None,
    )


@dataclass(frozen=True)
class SecureBucketArgs:
    bucket_name: str
    kms_key_arn: pulumi.Input[str]
    policy: pulumi.Input[str]  # JSON bucket policy (lakehouse.model.iam), denying non-TLS at least
    lifecycle: Sequence[LifecycleRule]
    force_destroy: bool = False
    log_bucket: Optional[pulumi.Input[str]] = None  # None only for the logs bucket itself
    protect: bool = False  # Pulumi refuses to delete it (prod)
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)  # e.g. the logs bucket policy
    tags: Mapping[str, str] = field(default_factory=dict)  # the bucket's own, besides the stack's


class SecureBucket(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: SecureBucketArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(name, bucket=args.bucket_name, force_destroy=args.force_destroy,
                                    tags=dict(args.tags) or None,
                                    opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
        bucket = self.bucket.id
        # Ownership first: S3 rejects some settings while ACLs are still enabled.
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=child)
        public_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=bucket, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=args.kms_key_arn),
                bucket_key_enabled=True)],
            opts=child)
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"), opts=child)
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy", bucket=bucket, policy=args.policy,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_block, ownership]))
        if args.log_bucket is not None:
            aws.s3.BucketLogging(
                f"{name}-logging", bucket=bucket, target_bucket=args.log_bucket,
                target_prefix=f"{S3_ACCESS_LOG_PREFIX}{args.bucket_name}/",
                target_object_key_format=aws.s3.BucketLoggingTargetObjectKeyFormatArgs(
                    partitioned_prefix=aws.s3.BucketLoggingTargetObjectKeyFormatPartitionedPrefixArgs(
                        partition_date_source="EventTime")),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)))
        # Lifecycle rules on non-current versions need versioning in place.
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket, rules=[_rule_args(r) for r in args.lifecycle],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]))

        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.register_outputs({"name": self.name, "arn": self.arn})
