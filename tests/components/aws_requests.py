"""The AWS API requests a stack's resources stand for, checked against botocore's service models.

`BUILDERS` maps each AWS resource type of the stacks to a builder: the resource's Pulumi inputs
(camelCase) -> the create call(s) the AWS provider makes, as (service, operation, params), following
the Terraform AWS provider's argument -> API field mapping. Every input a builder does not read is
reported: a new input needs a mapping (or an explicit `p.skip`, for what the provider keeps to itself).

`request_errors(ev)` builds and validates the requests of every AWS resource of a stack: botocore's
ParamValidator (types, required members, unknown keys, minimums) plus `shape_errors`, which checks what
botocore leaves to the service: enums, maximums (length of strings, lists and maps; value of numbers)
and patterns (`re.fullmatch`). Two Java-only constructs of the models' patterns are translated:
UTF-16 surrogate pairs (`\\uD800\\uDC00-\\uDBFF\\uDFFF`, the supplementary planes) and the Unicode
categories `\\p{L}`, `\\p{Z}`, `\\p{N}`, which Python's `re` lacks (`_java_pattern`). Two fields
whose allowed values the models give only in their documentation (`DOC_ENUMS`) are checked against
the values parsed from that documentation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, NamedTuple
from urllib.parse import urlencode

import botocore.session
from botocore.validate import ParamValidator

from lakehouse.offline import ACCOUNT, DEFAULT_REGION, StackEvaluation

Call = tuple[str, str, dict]  # (service, operation, params)


class Ctx(NamedTuple):
    """What a builder knows besides the inputs: the resource's logical name and mocked id, the stack."""

    name: str
    id: str = ""
    region: str = DEFAULT_REGION
    account: str = ACCOUNT
    default_tags: dict = {}


class Inputs:
    """A resource's inputs (or a nested block of them), recording every path a builder reads."""

    def __init__(self, values: dict, path: str = "", read: set | None = None, whole: set | None = None):
        self.values, self.path = values, path
        self.read = set() if read is None else read  # paths read as structure: their members count one by one
        self.whole = set() if whole is None else whole  # paths read as a value (maps, documents, skipped)

    def get(self, key: str, default: Any = None) -> Any:
        path = self.path + key
        self.read.add(path)
        value = self.values.get(key, default)
        if isinstance(value, dict):
            return Inputs(value, path + ".", self.read, self.whole)
        if isinstance(value, list) and any(isinstance(v, dict) for v in value):
            return [Inputs(v, f"{path}[{i}].", self.read, self.whole) if isinstance(v, dict) else v
                    for i, v in enumerate(value)]
        return value

    def __getitem__(self, key: str) -> Any:
        if key not in self.values:
            raise KeyError(f"{self.path}{key}")
        return self.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def raw(self, key: str, default: Any = None) -> Any:
        """A map or document input as it is (its keys are data, not inputs)."""
        self.whole.add(self.path + key)
        return self.values.get(key, default)

    def skip(self, *keys: str) -> None:
        """Inputs the provider keeps to itself (no field of the create call)."""
        self.whole.update(self.path + k for k in keys)

    def unread(self) -> list[str]:
        """Paths of the inputs no builder read."""
        found: list[str] = []

        def walk(value: Any, path: str) -> None:
            if path in self.whole:
                return
            if path and path not in self.read:
                found.append(path)
            elif isinstance(value, dict):
                for k, v in value.items():
                    walk(v, f"{path}.{k}" if path else k)
            elif isinstance(value, list):
                for i, v in enumerate(value):
                    if isinstance(v, dict):
                        for k, item in v.items():
                            walk(item, f"{path}[{i}].{k}")

        walk(self.values, self.path.rstrip("."))
        return found


def prune(value: Any) -> Any:
    """Drop unset (None) members, as the provider leaves unset arguments out of a request."""
    if isinstance(value, dict):
        return {k: prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def num(value: Any) -> Any:
    """Pulumi's wire numbers are floats; the provider's schema integers. A fraction stays (and fails)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def block(value: Any, build: Callable[[Inputs], dict]) -> dict | None:
    return None if value is None else build(value)


def blocks(values: Any, build: Callable[[Inputs], dict]) -> list | None:
    return None if values is None else [build(v) for v in values]


def tags_of(p: Inputs, c: Ctx) -> dict:
    """The provider's default tags merged with the resource's own (tags_all), as the request sends them."""
    return {**c.default_tags, **(p.raw("tags") or {})}


def tag_list(p: Inputs, c: Ctx, key: str = "Key", value: str = "Value") -> list | None:
    return [{key: k, value: v} for k, v in tags_of(p, c).items()] or None


def tag_specs(p: Inputs, c: Ctx, resource_type: str) -> list | None:
    tags = tag_list(p, c)
    return [{"ResourceType": resource_type, "Tags": tags}] if tags else None


def autoname(c: Ctx) -> str:
    """Pulumi's auto-name of an unnamed resource: the logical name, a dash and 7 random hex digits."""
    return f"{c.name}-{hashlib.sha1(c.name.encode()).hexdigest()[:7]}"


# ---------------------------------------------------------------------------------------------- Glue

def glue_job(p: Inputs, c: Ctx) -> list[Call]:
    params = {
        "Name": p.get("name") or autoname(c),
        "Role": p.get("roleArn"),
        "Description": p.get("description"),
        "Command": block(p.get("command"), lambda b: {
            "Name": b.get("name"), "ScriptLocation": b.get("scriptLocation"),
            "PythonVersion": b.get("pythonVersion"), "Runtime": b.get("runtime")}),
        "DefaultArguments": p.raw("defaultArguments"),
        "NonOverridableArguments": p.raw("nonOverridableArguments"),
        "Connections": {"Connections": p.get("connections")} if p.get("connections") is not None else None,
        "GlueVersion": p.get("glueVersion"),
        "WorkerType": p.get("workerType"),
        "NumberOfWorkers": num(p.get("numberOfWorkers")),
        "MaxCapacity": p.get("maxCapacity"),
        "Timeout": num(p.get("timeout")),
        "MaxRetries": num(p.get("maxRetries")),
        "ExecutionClass": p.get("executionClass"),
        "SecurityConfiguration": p.get("securityConfiguration"),
        "ExecutionProperty": block(p.get("executionProperty"), lambda b: {
            "MaxConcurrentRuns": num(b.get("maxConcurrentRuns"))}),
        "NotificationProperty": block(p.get("notificationProperty"), lambda b: {
            "NotifyDelayAfter": num(b.get("notifyDelayAfter"))}),
        "JobRunQueuingEnabled": p.get("jobRunQueuingEnabled"),
        "MaintenanceWindow": p.get("maintenanceWindow"),
        "JobMode": p.get("jobMode"),
        "Tags": tags_of(p, c) or None,
    }
    return [("glue", "CreateJob", params)]


def glue_trigger(p: Inputs, c: Ctx) -> list[Call]:
    type_, enabled, start = p.get("type"), p.get("enabled", True), p.get("startOnCreation")
    # the provider starts an enabled scheduled or conditional trigger on creation (and stops a disabled
    # one right after)
    start = bool(start) or (enabled is not False and type_ != "ON_DEMAND")
    params = {
        "Name": p.get("name") or autoname(c),
        "WorkflowName": p.get("workflowName"),
        "Type": type_,
        "Schedule": p.get("schedule"),
        "Description": p.get("description"),
        "StartOnCreation": start,
        "Actions": blocks(p.get("actions"), lambda a: {
            "JobName": a.get("jobName"), "CrawlerName": a.get("crawlerName"), "Arguments": a.raw("arguments"),
            "Timeout": num(a.get("timeout")), "SecurityConfiguration": a.get("securityConfiguration"),
            "NotificationProperty": block(a.get("notificationProperty"), lambda b: {
                "NotifyDelayAfter": num(b.get("notifyDelayAfter"))})}),
        "Predicate": block(p.get("predicate"), lambda b: {
            "Logical": b.get("logical"),
            "Conditions": blocks(b.get("conditions"), lambda k: {
                "LogicalOperator": k.get("logicalOperator"), "JobName": k.get("jobName"), "State": k.get("state"),
                "CrawlerName": k.get("crawlerName"), "CrawlState": k.get("crawlState")})}),
        "EventBatchingCondition": blocks(p.get("eventBatchingConditions"), lambda b: {
            "BatchSize": num(b.get("batchSize")), "BatchWindow": num(b.get("batchWindow"))}),
        "Tags": tags_of(p, c) or None,
    }
    if params["EventBatchingCondition"]:
        params["EventBatchingCondition"] = params["EventBatchingCondition"][0]
    return [("glue", "CreateTrigger", params)]


def glue_workflow(p: Inputs, c: Ctx) -> list[Call]:
    return [("glue", "CreateWorkflow", {
        "Name": p.get("name") or autoname(c),
        "Description": p.get("description"),
        "DefaultRunProperties": p.raw("defaultRunProperties"),
        "MaxConcurrentRuns": num(p.get("maxConcurrentRuns")),
        "Tags": tags_of(p, c) or None,
    })]


def glue_data_quality_ruleset(p: Inputs, c: Ctx) -> list[Call]:
    return [("glue", "CreateDataQualityRuleset", {
        "Name": p.get("name") or autoname(c),
        "Description": p.get("description"),
        "Ruleset": p.get("ruleset"),
        "TargetTable": block(p.get("targetTable"), lambda b: {
            "TableName": b.get("tableName"), "DatabaseName": b.get("databaseName"), "CatalogId": b.get("catalogId")}),
        "Tags": tags_of(p, c) or None,
    })]


def glue_crawler(p: Inputs, c: Ctx) -> list[Call]:
    return [("glue", "CreateCrawler", {
        "Name": p.get("name") or autoname(c),
        "Role": p.get("role"),
        "DatabaseName": p.get("databaseName"),
        "Description": p.get("description"),
        "Targets": {
            "S3Targets": blocks(p.get("s3Targets"), lambda t: {
                "Path": t.get("path"), "Exclusions": t.get("exclusions"), "ConnectionName": t.get("connectionName"),
                "SampleSize": num(t.get("sampleSize")), "EventQueueArn": t.get("eventQueueArn"),
                "DlqEventQueueArn": t.get("dlqEventQueueArn")}),
        },
        "Schedule": p.get("schedule"),
        "Classifiers": p.get("classifiers"),
        "TablePrefix": p.get("tablePrefix"),
        "SchemaChangePolicy": block(p.get("schemaChangePolicy"), lambda b: {
            "UpdateBehavior": b.get("updateBehavior"), "DeleteBehavior": b.get("deleteBehavior")}),
        "RecrawlPolicy": block(p.get("recrawlPolicy"), lambda b: {"RecrawlBehavior": b.get("recrawlBehavior")}),
        "LineageConfiguration": block(p.get("lineageConfiguration"), lambda b: {
            "CrawlerLineageSettings": b.get("crawlerLineageSettings")}),
        "Configuration": p.raw("configuration"),
        "CrawlerSecurityConfiguration": p.get("securityConfiguration"),
        "Tags": tags_of(p, c) or None,
    })]


def glue_table_optimizer(p: Inputs, c: Ctx) -> list[Call]:
    def iceberg(b: Inputs, fields: tuple[str, ...]) -> dict:
        return block(b.get("icebergConfiguration"), lambda i: {f: num(i.get(f)) for f in fields})

    def configuration(b: Inputs) -> dict:
        return {
            "roleArn": b.get("roleArn"), "enabled": b.get("enabled"),
            "compactionConfiguration": block(b.get("compactionConfiguration"), lambda k: {
                "icebergConfiguration": iceberg(k, ("strategy", "minInputFiles", "deleteFileThreshold"))}),
            "retentionConfiguration": block(b.get("retentionConfiguration"), lambda k: {
                "icebergConfiguration": iceberg(k, ("snapshotRetentionPeriodInDays", "numberOfSnapshotsToRetain",
                                                    "cleanExpiredFiles", "runRateInHours"))}),
            "orphanFileDeletionConfiguration": block(b.get("orphanFileDeletionConfiguration"), lambda k: {
                "icebergConfiguration": iceberg(k, ("orphanFileRetentionPeriodInDays", "location",
                                                    "runRateInHours"))}),
        }

    return [("glue", "CreateTableOptimizer", {
        "CatalogId": p.get("catalogId"), "DatabaseName": p.get("databaseName"), "TableName": p.get("tableName"),
        "Type": p.get("type"), "TableOptimizerConfiguration": block(p.get("configuration"), configuration),
    })]


def glue_catalog_database(p: Inputs, c: Ctx) -> list[Call]:
    return [("glue", "CreateDatabase", {
        "CatalogId": p.get("catalogId") or c.account,
        "DatabaseInput": {
            "Name": p.get("name") or autoname(c),
            "Description": p.get("description"),
            "LocationUri": p.get("locationUri"),
            "Parameters": p.raw("parameters"),
        },
        "Tags": tags_of(p, c) or None,
    })]


def glue_connection(p: Inputs, c: Ctx) -> list[Call]:
    return [("glue", "CreateConnection", {
        "CatalogId": p.get("catalogId") or c.account,
        "ConnectionInput": {
            "Name": p.get("name") or autoname(c),
            "Description": p.get("description"),
            "ConnectionType": p.get("connectionType"),
            "ConnectionProperties": p.raw("connectionProperties"),
            "MatchCriteria": p.get("matchCriterias"),
            "PhysicalConnectionRequirements": block(p.get("physicalConnectionRequirements"), lambda b: {
                "SubnetId": b.get("subnetId"), "AvailabilityZone": b.get("availabilityZone"),
                "SecurityGroupIdList": b.get("securityGroupIdLists")}),
        },
        "Tags": tags_of(p, c) or None,
    })]


def glue_security_configuration(p: Inputs, c: Ctx) -> list[Call]:
    e = p.get("encryptionConfiguration")
    return [("glue", "CreateSecurityConfiguration", {
        "Name": p.get("name") or autoname(c),
        "EncryptionConfiguration": block(e, lambda b: {
            "CloudWatchEncryption": block(b.get("cloudwatchEncryption"), lambda x: {
                "CloudWatchEncryptionMode": x.get("cloudwatchEncryptionMode"), "KmsKeyArn": x.get("kmsKeyArn")}),
            "JobBookmarksEncryption": block(b.get("jobBookmarksEncryption"), lambda x: {
                "JobBookmarksEncryptionMode": x.get("jobBookmarksEncryptionMode"), "KmsKeyArn": x.get("kmsKeyArn")}),
            # one block in the provider, a list in the API
            "S3Encryption": [block(b.get("s3Encryption"), lambda x: {
                "S3EncryptionMode": x.get("s3EncryptionMode"), "KmsKeyArn": x.get("kmsKeyArn")})]
            if b.get("s3Encryption") is not None else None}),
    })]


def glue_catalog_encryption(p: Inputs, c: Ctx) -> list[Call]:
    return [("glue", "PutDataCatalogEncryptionSettings", {
        "CatalogId": p.get("catalogId") or c.account,
        "DataCatalogEncryptionSettings": block(p.get("dataCatalogEncryptionSettings"), lambda b: {
            "ConnectionPasswordEncryption": block(b.get("connectionPasswordEncryption"), lambda x: {
                "AwsKmsKeyId": x.get("awsKmsKeyId"),
                "ReturnConnectionPasswordEncrypted": x.get("returnConnectionPasswordEncrypted")}),
            "EncryptionAtRest": block(b.get("encryptionAtRest"), lambda x: {
                "CatalogEncryptionMode": x.get("catalogEncryptionMode"), "SseAwsKmsKeyId": x.get("sseAwsKmsKeyId"),
                "CatalogEncryptionServiceRole": x.get("catalogEncryptionServiceRole")})}),
    })]


# ------------------------------------------------------------------------------------------------ S3

def s3_bucket(p: Inputs, c: Ctx) -> list[Call]:
    p.skip("forceDestroy")  # the provider empties the bucket on delete
    name = p.get("bucket") or autoname(c)
    create = {"Bucket": name, "ObjectLockEnabledForBucket": p.get("objectLockEnabled")}
    if c.region != "us-east-1":  # us-east-1 takes no location constraint
        create["CreateBucketConfiguration"] = {"LocationConstraint": c.region}
    calls = [("s3", "CreateBucket", create)]
    tags = tag_list(p, c)
    if tags:
        calls.append(("s3", "PutBucketTagging", {"Bucket": name, "Tagging": {"TagSet": tags}}))
    return calls


def s3_versioning(p: Inputs, c: Ctx) -> list[Call]:
    return [("s3", "PutBucketVersioning", {
        "Bucket": p.get("bucket"), "ExpectedBucketOwner": p.get("expectedBucketOwner"), "MFA": p.get("mfa"),
        "VersioningConfiguration": block(p.get("versioningConfiguration"), lambda b: {
            "Status": b.get("status"), "MFADelete": b.get("mfaDelete")}),
    })]


def s3_encryption(p: Inputs, c: Ctx) -> list[Call]:
    return [("s3", "PutBucketEncryption", {
        "Bucket": p.get("bucket"), "ExpectedBucketOwner": p.get("expectedBucketOwner"),
        "ServerSideEncryptionConfiguration": {"Rules": blocks(p.get("rules"), lambda r: {
            "ApplyServerSideEncryptionByDefault": block(r.get("applyServerSideEncryptionByDefault"), lambda d: {
                "SSEAlgorithm": d.get("sseAlgorithm"), "KMSMasterKeyID": d.get("kmsMasterKeyId")}),
            "BucketKeyEnabled": r.get("bucketKeyEnabled")})},
    })]


def _lifecycle_filter(f: Inputs) -> dict:
    return {
        "Prefix": f.get("prefix"),
        "Tag": block(f.get("tag"), lambda t: {"Key": t.get("key"), "Value": t.get("value")}),
        "ObjectSizeGreaterThan": num(f.get("objectSizeGreaterThan")),
        "ObjectSizeLessThan": num(f.get("objectSizeLessThan")),
        "And": block(f.get("and"), lambda a: {
            "Prefix": a.get("prefix"), "Tags": [{"Key": k, "Value": v} for k, v in (a.raw("tags") or {}).items()]
            or None, "ObjectSizeGreaterThan": num(a.get("objectSizeGreaterThan")),
            "ObjectSizeLessThan": num(a.get("objectSizeLessThan"))}),
    }


def s3_lifecycle(p: Inputs, c: Ctx) -> list[Call]:
    rules = blocks(p.get("rules"), lambda r: {
        "ID": r.get("id"),
        "Status": r.get("status"),
        "Prefix": r.get("prefix"),
        "Filter": block(r.get("filter"), _lifecycle_filter),
        "Expiration": block(r.get("expiration"), lambda e: {
            "Days": num(e.get("days")), "Date": e.get("date"),
            "ExpiredObjectDeleteMarker": e.get("expiredObjectDeleteMarker")}),
        "Transitions": blocks(r.get("transitions"), lambda t: {
            "Days": num(t.get("days")), "Date": t.get("date"), "StorageClass": t.get("storageClass")}),
        "NoncurrentVersionExpiration": block(r.get("noncurrentVersionExpiration"), lambda e: {
            "NoncurrentDays": num(e.get("noncurrentDays")),
            "NewerNoncurrentVersions": num(e.get("newerNoncurrentVersions"))}),
        "NoncurrentVersionTransitions": blocks(r.get("noncurrentVersionTransitions"), lambda t: {
            "NoncurrentDays": num(t.get("noncurrentDays")), "StorageClass": t.get("storageClass"),
            "NewerNoncurrentVersions": num(t.get("newerNoncurrentVersions"))}),
        "AbortIncompleteMultipartUpload": block(r.get("abortIncompleteMultipartUpload"), lambda a: {
            "DaysAfterInitiation": num(a.get("daysAfterInitiation"))}),
    })
    return [("s3", "PutBucketLifecycleConfiguration", {
        "Bucket": p.get("bucket"), "ExpectedBucketOwner": p.get("expectedBucketOwner"),
        "TransitionDefaultMinimumObjectSize": p.get("transitionDefaultMinimumObjectSize"),
        "LifecycleConfiguration": {"Rules": rules},
    })]


def s3_logging(p: Inputs, c: Ctx) -> list[Call]:
    key_format = block(p.get("targetObjectKeyFormat"), lambda f: {
        "SimplePrefix": {} if f.get("simplePrefix") is not None else None,
        "PartitionedPrefix": block(f.get("partitionedPrefix"), lambda x: {
            "PartitionDateSource": x.get("partitionDateSource")})})
    return [("s3", "PutBucketLogging", {
        "Bucket": p.get("bucket"), "ExpectedBucketOwner": p.get("expectedBucketOwner"),
        "BucketLoggingStatus": {"LoggingEnabled": {
            "TargetBucket": p.get("targetBucket"), "TargetPrefix": p.get("targetPrefix"),
            "TargetObjectKeyFormat": key_format}},
    })]


def s3_ownership(p: Inputs, c: Ctx) -> list[Call]:
    return [("s3", "PutBucketOwnershipControls", {
        "Bucket": p.get("bucket"),
        "OwnershipControls": {"Rules": [block(p.get("rule"), lambda r: {"ObjectOwnership": r.get("objectOwnership")})]},
    })]


def s3_policy(p: Inputs, c: Ctx) -> list[Call]:
    return [("s3", "PutBucketPolicy", {"Bucket": p.get("bucket"), "Policy": p.raw("policy")})]


def s3_public_access_block(p: Inputs, c: Ctx) -> list[Call]:
    return [("s3", "PutPublicAccessBlock", {
        "Bucket": p.get("bucket"),
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": p.get("blockPublicAcls"), "IgnorePublicAcls": p.get("ignorePublicAcls"),
            "BlockPublicPolicy": p.get("blockPublicPolicy"), "RestrictPublicBuckets": p.get("restrictPublicBuckets")},
    })]


def _object_body(p: Inputs) -> bytes | None:
    source = p.raw("source")
    if isinstance(source, dict) and "fileAsset" in source:
        return Path(source["fileAsset"]).read_bytes()  # a missing asset fails here, as in `pulumi up`
    if isinstance(source, dict) and "stringAsset" in source:
        return source["stringAsset"].encode()
    if p.get("contentBase64") is not None:
        return base64.b64decode(p.get("contentBase64"), validate=True)
    if p.get("content") is not None:
        return p.get("content").encode()
    return None


def s3_object(p: Inputs, c: Ctx) -> list[Call]:
    tags = tags_of(p, c)
    return [("s3", "PutObject", {
        "Bucket": p.get("bucket"), "Key": p.get("key"), "Body": _object_body(p),
        "ContentType": p.get("contentType"), "CacheControl": p.get("cacheControl"),
        "ContentEncoding": p.get("contentEncoding"), "ContentDisposition": p.get("contentDisposition"),
        "Metadata": p.raw("metadata"), "StorageClass": p.get("storageClass"),
        "ServerSideEncryption": p.get("serverSideEncryption"), "SSEKMSKeyId": p.get("kmsKeyId"),
        "BucketKeyEnabled": p.get("bucketKeyEnabled"),
        "Tagging": urlencode(tags) if tags else None,  # a URL query string on PutObject
    })]


# ----------------------------------------------------------------------------------------------- KMS

def kms_key(p: Inputs, c: Ctx) -> list[Call]:
    p.skip("deletionWindowInDays")  # ScheduleKeyDeletion's pending window, at delete
    calls = [("kms", "CreateKey", {
        "Description": p.get("description"),
        "KeyUsage": p.get("keyUsage"),
        "KeySpec": p.get("customerMasterKeySpec"),
        "Policy": p.raw("policy"),
        "BypassPolicyLockoutSafetyCheck": p.get("bypassPolicyLockoutSafetyCheck"),
        "MultiRegion": p.get("multiRegion"),
        "CustomKeyStoreId": p.get("customKeyStoreId"),
        "XksKeyId": p.get("xksKeyId"),
        "Tags": tag_list(p, c, "TagKey", "TagValue"),
    })]
    if p.get("enableKeyRotation"):
        calls.append(("kms", "EnableKeyRotation", {
            "KeyId": c.id, "RotationPeriodInDays": num(p.get("rotationPeriodInDays"))}))
    return calls


def kms_alias(p: Inputs, c: Ctx) -> list[Call]:
    return [("kms", "CreateAlias", {"AliasName": p.get("name") or f"alias/{autoname(c)}",
                                    "TargetKeyId": p.get("targetKeyId")})]


# ------------------------------------------------------------------------------------ Step Functions

def sfn_state_machine(p: Inputs, c: Ctx) -> list[Call]:
    return [("stepfunctions", "CreateStateMachine", {
        "name": p.get("name") or autoname(c),
        "definition": p.raw("definition"),
        "roleArn": p.get("roleArn"),
        "type": p.get("type"),
        "loggingConfiguration": block(p.get("loggingConfiguration"), lambda b: {
            "level": b.get("level"), "includeExecutionData": b.get("includeExecutionData"),
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": b.get("logDestination")}}]
            if b.get("logDestination") else None}),
        "tracingConfiguration": block(p.get("tracingConfiguration"), lambda b: {"enabled": b.get("enabled")}),
        "encryptionConfiguration": block(p.get("encryptionConfiguration"), lambda b: {
            "type": b.get("type"), "kmsKeyId": b.get("kmsKeyId"),
            "kmsDataKeyReusePeriodSeconds": num(b.get("kmsDataKeyReusePeriodSeconds"))}),
        "publish": p.get("publish"),
        "tags": [{"key": k, "value": v} for k, v in tags_of(p, c).items()] or None,
    })]


# ----------------------------------------------------------------------------------------------- IAM

def iam_role(p: Inputs, c: Ctx) -> list[Call]:
    return [("iam", "CreateRole", {
        "RoleName": p.get("name") or autoname(c),
        "AssumeRolePolicyDocument": p.raw("assumeRolePolicy"),
        "Description": p.get("description"),
        "Path": p.get("path"),
        "MaxSessionDuration": num(p.get("maxSessionDuration")),
        "PermissionsBoundary": p.get("permissionsBoundary"),
        "Tags": tag_list(p, c),
    })]


def iam_role_policy(p: Inputs, c: Ctx) -> list[Call]:
    return [("iam", "PutRolePolicy", {
        "RoleName": p.get("role"), "PolicyName": p.get("name") or autoname(c), "PolicyDocument": p.raw("policy"),
    })]


# ------------------------------------------------------------------- EventBridge, CloudWatch Logs, SNS

def event_rule(p: Inputs, c: Ctx) -> list[Call]:
    return [("events", "PutRule", {
        "Name": p.get("name") or autoname(c),
        "Description": p.get("description"),
        "EventBusName": p.get("eventBusName"),
        "EventPattern": p.raw("eventPattern"),
        "ScheduleExpression": p.get("scheduleExpression"),
        "State": p.get("state"),
        "RoleArn": p.get("roleArn"),
        "Tags": tag_list(p, c),
    })]


def event_target(p: Inputs, c: Ctx) -> list[Call]:
    return [("events", "PutTargets", {
        "Rule": p.get("rule"),
        "EventBusName": p.get("eventBusName"),
        "Targets": [{
            "Id": p.get("targetId") or autoname(c), "Arn": p.get("arn"), "RoleArn": p.get("roleArn"),
            "Input": p.raw("input"), "InputPath": p.get("inputPath"),
            "DeadLetterConfig": block(p.get("deadLetterConfig"), lambda d: {"Arn": d.get("arn")}),
            "RetryPolicy": block(p.get("retryPolicy"), lambda r: {
                "MaximumRetryAttempts": num(r.get("maximumRetryAttempts")),
                "MaximumEventAgeInSeconds": num(r.get("maximumEventAgeInSeconds"))}),
        }],
    })]


def log_group(p: Inputs, c: Ctx) -> list[Call]:
    p.skip("skipDestroy")
    name = p.get("name") or autoname(c)
    calls = [("logs", "CreateLogGroup", {
        "logGroupName": name, "kmsKeyId": p.get("kmsKeyId"), "logGroupClass": p.get("logGroupClass"),
        "deletionProtectionEnabled": p.get("deletionProtectionEnabled"), "tags": tags_of(p, c) or None,
    })]
    if p.get("retentionInDays"):
        calls.append(("logs", "PutRetentionPolicy", {"logGroupName": name,
                                                     "retentionInDays": num(p.get("retentionInDays"))}))
    return calls


SNS_ATTRIBUTES = {  # topic input -> CreateTopic attribute
    "displayName": "DisplayName", "kmsMasterKeyId": "KmsMasterKeyId", "policy": "Policy",
    "deliveryPolicy": "DeliveryPolicy", "fifoTopic": "FifoTopic", "signatureVersion": "SignatureVersion",
    "contentBasedDeduplication": "ContentBasedDeduplication", "tracingConfig": "TracingConfig",
}


def sns_topic(p: Inputs, c: Ctx) -> list[Call]:
    attributes = {attr: str(p.get(key)).lower() if isinstance(p.get(key), bool) else str(num(p.get(key)))
                  for key, attr in SNS_ATTRIBUTES.items() if p.get(key) is not None}
    return [("sns", "CreateTopic", {
        "Name": p.get("name") or autoname(c), "Attributes": attributes or None, "Tags": tag_list(p, c),
    })]


def sns_topic_policy(p: Inputs, c: Ctx) -> list[Call]:
    return [("sns", "SetTopicAttributes", {
        "TopicArn": p.get("arn"), "AttributeName": "Policy", "AttributeValue": p.raw("policy")})]


def cloudwatch_dashboard(p: Inputs, c: Ctx) -> list[Call]:
    return [("cloudwatch", "PutDashboard", {
        "DashboardName": p.get("dashboardName"), "DashboardBody": p.raw("dashboardBody")})]


def _dimensions(value: Any) -> list | None:
    return [{"Name": k, "Value": v} for k, v in value.items()] if value else None


def _alarm_query(q: Inputs) -> dict:
    metric = q.get("metric")
    return {
        "Id": q.get("id"), "Expression": q.get("expression"), "Label": q.get("label"),
        "ReturnData": q.get("returnData"), "Period": num(q.get("period")), "AccountId": q.get("accountId"),
        "MetricStat": block(metric, lambda m: {
            "Metric": {"Namespace": m.get("namespace"), "MetricName": m.get("metricName"),
                       "Dimensions": _dimensions(m.raw("dimensions"))},
            "Period": num(m.get("period")), "Stat": m.get("stat"), "Unit": m.get("unit")}),
    }


def cloudwatch_metric_alarm(p: Inputs, c: Ctx) -> list[Call]:
    return [("cloudwatch", "PutMetricAlarm", {
        "AlarmName": p.get("name") or autoname(c),
        "AlarmDescription": p.get("alarmDescription"),
        "ActionsEnabled": p.get("actionsEnabled"),
        "AlarmActions": p.get("alarmActions"),
        "OKActions": p.get("okActions"),
        "InsufficientDataActions": p.get("insufficientDataActions"),
        "MetricName": p.get("metricName"),
        "Namespace": p.get("namespace"),
        "Statistic": p.get("statistic"),
        "ExtendedStatistic": p.get("extendedStatistic"),
        "Dimensions": _dimensions(p.raw("dimensions")),
        "Period": num(p.get("period")),
        "Unit": p.get("unit"),
        "EvaluationPeriods": num(p.get("evaluationPeriods")),
        "DatapointsToAlarm": num(p.get("datapointsToAlarm")),
        "Threshold": p.get("threshold"),
        "ComparisonOperator": p.get("comparisonOperator"),
        "TreatMissingData": p.get("treatMissingData"),
        "EvaluateLowSampleCountPercentile": p.get("evaluateLowSampleCountPercentiles"),
        "ThresholdMetricId": p.get("thresholdMetricId"),
        "Metrics": blocks(p.get("metricQueries"), _alarm_query),
        "Tags": tag_list(p, c),
    })]


# -------------------------------------------------------------------------------------------- Athena

def athena_workgroup(p: Inputs, c: Ctx) -> list[Call]:
    p.skip("forceDestroy")  # DeleteWorkGroup's RecursiveDeleteOption
    conf = p.get("configuration")
    result = conf.get("resultConfiguration")
    encryption = result.get("encryptionConfiguration")
    return [("athena", "CreateWorkGroup", {
        "Name": p.get("name") or autoname(c),
        "Description": p.get("description"),
        "Configuration": {
            "EnforceWorkGroupConfiguration": conf.get("enforceWorkgroupConfiguration"),
            "PublishCloudWatchMetricsEnabled": conf.get("publishCloudwatchMetricsEnabled"),
            "BytesScannedCutoffPerQuery": num(conf.get("bytesScannedCutoffPerQuery")),
            "RequesterPaysEnabled": conf.get("requesterPaysEnabled"),
            "EngineVersion": {"SelectedEngineVersion": conf.get("engineVersion").get("selectedEngineVersion")},
            "ResultConfiguration": {
                "OutputLocation": result.get("outputLocation"),
                "ExpectedBucketOwner": result.get("expectedBucketOwner"),
                "EncryptionConfiguration": {"EncryptionOption": encryption.get("encryptionOption"),
                                            "KmsKey": encryption.get("kmsKeyArn")},
            },
        },
        "Tags": tag_list(p, c),
    })] + ([] if p.get("state", "ENABLED") == "ENABLED" else [
        ("athena", "UpdateWorkGroup", {"WorkGroup": p.get("name"), "State": p.get("state")})])


def athena_named_query(p: Inputs, c: Ctx) -> list[Call]:
    return [("athena", "CreateNamedQuery", {
        "Name": p.get("name") or autoname(c), "Description": p.get("description"), "Database": p.get("database"),
        "QueryString": p.get("query"), "WorkGroup": p.get("workgroup"),
    })]


# ----------------------------------------------------------------------------------------------- RDS

def rds_instance(p: Inputs, c: Ctx) -> list[Call]:
    # ModifyDBInstance's and DeleteDBInstance's, not CreateDBInstance's
    p.skip("allowMajorVersionUpgrade", "applyImmediately", "skipFinalSnapshot", "finalSnapshotIdentifier")
    return [("rds", "CreateDBInstance", {
        "DBInstanceIdentifier": p.get("identifier") or autoname(c),
        "DBInstanceClass": p.get("instanceClass"),
        "Engine": p.get("engine"),
        "EngineVersion": p.get("engineVersion"),
        "AllocatedStorage": num(p.get("allocatedStorage")),
        "MaxAllocatedStorage": num(p.get("maxAllocatedStorage")),
        "StorageType": p.get("storageType"),
        "Iops": num(p.get("iops")),
        "StorageThroughput": num(p.get("storageThroughput")),
        "StorageEncrypted": p.get("storageEncrypted"),
        "KmsKeyId": p.get("kmsKeyId"),
        "DBName": p.get("dbName"),
        "MasterUsername": p.get("username"),
        "ManageMasterUserPassword": p.get("manageMasterUserPassword"),
        "MasterUserSecretKmsKeyId": p.get("masterUserSecretKmsKeyId"),
        "PubliclyAccessible": p.get("publiclyAccessible"),
        "MultiAZ": p.get("multiAz"),
        "BackupRetentionPeriod": num(p.get("backupRetentionPeriod")),
        "PreferredBackupWindow": p.get("backupWindow"),
        "PreferredMaintenanceWindow": p.get("maintenanceWindow"),
        "DBSubnetGroupName": p.get("dbSubnetGroupName"),
        "DBParameterGroupName": p.get("parameterGroupName"),
        "Port": num(p.get("port")),
        "VpcSecurityGroupIds": p.get("vpcSecurityGroupIds"),
        "AutoMinorVersionUpgrade": p.get("autoMinorVersionUpgrade"),
        "DeletionProtection": p.get("deletionProtection"),
        "CopyTagsToSnapshot": p.get("copyTagsToSnapshot"),
        "EnableIAMDatabaseAuthentication": p.get("iamDatabaseAuthenticationEnabled"),
        "EnableCloudwatchLogsExports": p.get("enabledCloudwatchLogsExports"),
        "EnablePerformanceInsights": p.get("performanceInsightsEnabled"),
        "MonitoringInterval": num(p.get("monitoringInterval")),
        "MonitoringRoleArn": p.get("monitoringRoleArn"),
        "Tags": tag_list(p, c),
    })]


def rds_subnet_group(p: Inputs, c: Ctx) -> list[Call]:
    return [("rds", "CreateDBSubnetGroup", {
        "DBSubnetGroupName": p.get("name") or autoname(c),
        "DBSubnetGroupDescription": p.get("description") or "Managed by Pulumi",  # the provider's default
        "SubnetIds": p.get("subnetIds"),
        "Tags": tag_list(p, c),
    })]


# ----------------------------------------------------------------------------------------------- EC2

def ec2_vpc(p: Inputs, c: Ctx) -> list[Call]:
    calls = [("ec2", "CreateVpc", {
        "CidrBlock": p.get("cidrBlock"), "InstanceTenancy": p.get("instanceTenancy"),
        "AmazonProvidedIpv6CidrBlock": p.get("assignGeneratedIpv6CidrBlock"),
        "TagSpecifications": tag_specs(p, c, "vpc"),
    })]
    for key, attribute in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
        if p.get(key) is not None:  # one attribute per call
            calls.append(("ec2", "ModifyVpcAttribute", {"VpcId": c.id, attribute: {"Value": p.get(key)}}))
    return calls


def ec2_subnet(p: Inputs, c: Ctx) -> list[Call]:
    calls = [("ec2", "CreateSubnet", {
        "VpcId": p.get("vpcId"), "CidrBlock": p.get("cidrBlock"), "AvailabilityZone": p.get("availabilityZone"),
        "AvailabilityZoneId": p.get("availabilityZoneId"), "Ipv6CidrBlock": p.get("ipv6CidrBlock"),
        "TagSpecifications": tag_specs(p, c, "subnet"),
    })]
    if p.get("mapPublicIpOnLaunch") is not None:
        calls.append(("ec2", "ModifySubnetAttribute", {
            "SubnetId": c.id, "MapPublicIpOnLaunch": {"Value": p.get("mapPublicIpOnLaunch")}}))
    return calls


def ec2_security_group(p: Inputs, c: Ctx) -> list[Call]:
    return [
        ("ec2", "CreateSecurityGroup", {
            "GroupName": p.get("name") or autoname(c),
            "Description": p.get("description") or "Managed by Pulumi",  # the provider's default
            "VpcId": p.get("vpcId"),
            "TagSpecifications": tag_specs(p, c, "security-group"),
        }),
        # the provider removes the allow-all egress rule AWS adds to every new group
        ("ec2", "RevokeSecurityGroupEgress", {"GroupId": c.id, "IpPermissions": [
            {"IpProtocol": "-1", "FromPort": 0, "ToPort": 0, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}),
    ]


def ec2_default_security_group(p: Inputs, c: Ctx) -> list[Call]:
    """No create: the provider adopts the VPC's default group, then tags it (and revokes its rules)."""
    calls = [("ec2", "DescribeSecurityGroups", {"Filters": [
        {"Name": "vpc-id", "Values": [p.get("vpcId")]}, {"Name": "group-name", "Values": ["default"]}]})]
    tags = tag_list(p, c)
    if tags:
        calls.append(("ec2", "CreateTags", {"Resources": [c.id], "Tags": tags}))
    return calls


def ec2_route_table(p: Inputs, c: Ctx) -> list[Call]:
    return [("ec2", "CreateRouteTable", {"VpcId": p.get("vpcId"), "TagSpecifications": tag_specs(p, c, "route-table")})]


def ec2_route_table_association(p: Inputs, c: Ctx) -> list[Call]:
    return [("ec2", "AssociateRouteTable", {
        "RouteTableId": p.get("routeTableId"), "SubnetId": p.get("subnetId"), "GatewayId": p.get("gatewayId")})]


def ec2_vpc_endpoint(p: Inputs, c: Ctx) -> list[Call]:
    return [("ec2", "CreateVpcEndpoint", {
        "VpcId": p.get("vpcId"), "ServiceName": p.get("serviceName"), "VpcEndpointType": p.get("vpcEndpointType"),
        "RouteTableIds": p.get("routeTableIds"), "SubnetIds": p.get("subnetIds"),
        "SecurityGroupIds": p.get("securityGroupIds"), "PrivateDnsEnabled": p.get("privateDnsEnabled"),
        "PolicyDocument": p.raw("policy"), "IpAddressType": p.get("ipAddressType"),
        "ServiceRegion": p.get("serviceRegion"),
        "TagSpecifications": tag_specs(p, c, "vpc-endpoint"),
    })]


FLOW_LOG_RESOURCES = (("vpcId", "VPC"), ("subnetId", "Subnet"), ("eniId", "NetworkInterface"),
                      ("transitGatewayId", "TransitGateway"),
                      ("transitGatewayAttachmentId", "TransitGatewayAttachment"))


def ec2_flow_log(p: Inputs, c: Ctx) -> list[Call]:
    """One CreateFlowLogs call for the one resource the flow log watches (the provider sends one id)."""
    kind, resource = next(((kind, p.get(key)) for key, kind in FLOW_LOG_RESOURCES if p.get(key)), (None, None))
    return [("ec2", "CreateFlowLogs", {
        "ResourceIds": [resource] if resource else None, "ResourceType": kind,
        "TrafficType": p.get("trafficType"),
        "DeliverLogsPermissionArn": p.get("iamRoleArn"), "DeliverCrossAccountRole": p.get("deliverCrossAccountRole"),
        "LogDestinationType": p.get("logDestinationType"), "LogDestination": p.get("logDestination"),
        "LogFormat": p.get("logFormat"), "MaxAggregationInterval": num(p.get("maxAggregationInterval")),
        "DestinationOptions": block(p.get("destinationOptions"), lambda d: {
            "FileFormat": d.get("fileFormat"), "HiveCompatiblePartitions": d.get("hiveCompatiblePartitions"),
            "PerHourPartition": d.get("perHourPartition")}),
        "TagSpecifications": tag_specs(p, c, "vpc-flow-log"),
    })]


def _rule_permission(p: Inputs) -> dict:
    described = {"Description": p.get("description")}
    protocol = p.get("ipProtocol")
    return {
        "IpProtocol": protocol,
        "FromPort": None if protocol == "-1" else num(p.get("fromPort")),
        "ToPort": None if protocol == "-1" else num(p.get("toPort")),
        "IpRanges": [{"CidrIp": p.get("cidrIpv4"), **described}] if p.get("cidrIpv4") else None,
        "Ipv6Ranges": [{"CidrIpv6": p.get("cidrIpv6"), **described}] if p.get("cidrIpv6") else None,
        "PrefixListIds": [{"PrefixListId": p.get("prefixListId"), **described}] if p.get("prefixListId") else None,
        "UserIdGroupPairs": [{"GroupId": p.get("referencedSecurityGroupId"), **described}]
        if p.get("referencedSecurityGroupId") else None,
    }


def ec2_egress_rule(p: Inputs, c: Ctx) -> list[Call]:
    return [("ec2", "AuthorizeSecurityGroupEgress", {
        "GroupId": p.get("securityGroupId"), "IpPermissions": [_rule_permission(p)],
        "TagSpecifications": tag_specs(p, c, "security-group-rule")})]


def ec2_ingress_rule(p: Inputs, c: Ctx) -> list[Call]:
    return [("ec2", "AuthorizeSecurityGroupIngress", {
        "GroupId": p.get("securityGroupId"), "IpPermissions": [_rule_permission(p)],
        "TagSpecifications": tag_specs(p, c, "security-group-rule")})]


BUILDERS: dict[str, Callable[[Inputs, Ctx], list[Call]]] = {
    "aws:glue/job:Job": glue_job,
    "aws:glue/trigger:Trigger": glue_trigger,
    "aws:glue/workflow:Workflow": glue_workflow,
    "aws:glue/catalogDatabase:CatalogDatabase": glue_catalog_database,
    "aws:glue/crawler:Crawler": glue_crawler,
    "aws:glue/catalogTableOptimizer:CatalogTableOptimizer": glue_table_optimizer,
    "aws:sfn/stateMachine:StateMachine": sfn_state_machine,
    "aws:glue/dataQualityRuleset:DataQualityRuleset": glue_data_quality_ruleset,
    "aws:glue/connection:Connection": glue_connection,
    "aws:glue/securityConfiguration:SecurityConfiguration": glue_security_configuration,
    "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings": glue_catalog_encryption,
    "aws:s3/bucket:Bucket": s3_bucket,
    "aws:s3/bucketVersioning:BucketVersioning": s3_versioning,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": s3_encryption,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": s3_lifecycle,
    "aws:s3/bucketLogging:BucketLogging": s3_logging,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": s3_ownership,
    "aws:s3/bucketPolicy:BucketPolicy": s3_policy,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": s3_public_access_block,
    "aws:s3/bucketObjectv2:BucketObjectv2": s3_object,
    "aws:kms/key:Key": kms_key,
    "aws:kms/alias:Alias": kms_alias,
    "aws:iam/role:Role": iam_role,
    "aws:iam/rolePolicy:RolePolicy": iam_role_policy,
    "aws:cloudwatch/eventRule:EventRule": event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": event_target,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:sns/topic:Topic": sns_topic,
    "aws:athena/workgroup:Workgroup": athena_workgroup,
    "aws:athena/namedQuery:NamedQuery": athena_named_query,
    "aws:sns/topicPolicy:TopicPolicy": sns_topic_policy,
    "aws:cloudwatch/dashboard:Dashboard": cloudwatch_dashboard,
    "aws:cloudwatch/metricAlarm:MetricAlarm": cloudwatch_metric_alarm,
    "aws:rds/instance:Instance": rds_instance,
    "aws:rds/subnetGroup:SubnetGroup": rds_subnet_group,
    "aws:ec2/vpc:Vpc": ec2_vpc,
    "aws:ec2/subnet:Subnet": ec2_subnet,
    "aws:ec2/securityGroup:SecurityGroup": ec2_security_group,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ec2_default_security_group,
    "aws:ec2/routeTable:RouteTable": ec2_route_table,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ec2_route_table_association,
    "aws:ec2/vpcEndpoint:VpcEndpoint": ec2_vpc_endpoint,
    "aws:ec2/flowLog:FlowLog": ec2_flow_log,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ec2_egress_rule,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ec2_ingress_rule,
}


# ------------------------------------------------------------------------------------------ validation

@lru_cache(maxsize=None)
def input_shape(service: str, operation: str):
    return _session().get_service_model(service).operation_model(operation).input_shape


@lru_cache(maxsize=1)
def _session():
    return botocore.session.get_session()


# Fields whose allowed values the models state only in their documentation, not as an enum:
# (service, operation, member) -> the regex that finds the list in the member's documentation.
DOC_ENUMS = {
    ("logs", "PutRetentionPolicy", "retentionInDays"): r"Possible values are: ([^.]*)\.",
    ("rds", "CreateDBInstance", "StorageType"): r"Valid Values: (.*?)</p>",
}


@lru_cache(maxsize=None)
def doc_enum(service: str, operation: str, member: str) -> tuple:
    """The allowed values DOC_ENUMS finds in the member's documentation (ints for an integer member)."""
    shape = input_shape(service, operation).members[member]
    found = re.search(DOC_ENUMS[(service, operation, member)], shape.documentation)
    if not found:
        raise LookupError(f"no list of allowed values in the documentation of {service} {operation}.{member}")
    values = [v.strip() for v in re.split(r",|\||\band\b", re.sub(r"<[^>]+>", "", found.group(1))) if v.strip()]
    return tuple(int(v) for v in values) if shape.type_name == "integer" else tuple(values)


# Java regex constructs of the models' patterns that Python's `re` lacks
_SURROGATE_RANGE = r"\uD800\uDC00-\uDBFF\uDFFF"  # UTF-16 pairs: U+10000..U+10FFFF
_CATEGORIES = {"L": "\ue0f1", "Z": "\ue0f2", "N": "\ue0f3"}  # \p{X} -> a private-use stand-in


@lru_cache(maxsize=None)
def _java_pattern(pattern: str) -> tuple[re.Pattern, bool]:
    """(compiled pattern, whether values need their \\p{X} categories mapped to the stand-ins)."""
    translated = pattern.replace(_SURROGATE_RANGE, r"\U00010000-\U0010FFFF")
    categories = re.findall(r"\\p\{(\w+)\}", translated)
    unknown = set(categories) - set(_CATEGORIES)
    if unknown:
        raise NotImplementedError(f"pattern {pattern!r}: Unicode categories {sorted(unknown)} not translated")
    for cat, stand_in in _CATEGORIES.items():
        translated = translated.replace(rf"\p{{{cat}}}", stand_in)
    return re.compile(translated), bool(categories)


def pattern_match(pattern: str, value: str) -> bool:
    compiled, categorised = _java_pattern(pattern)
    if categorised:
        value = "".join(_CATEGORIES.get(unicodedata.category(ch)[0], ch) for ch in value)
    return compiled.fullmatch(value) is not None


def shape_errors(value: Any, shape, path: str) -> list[str]:
    """What botocore's validator leaves out: enums, maximums and patterns, over the whole request."""
    errors: list[str] = []
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for key, member in value.items():
            if key in shape.members:
                errors += shape_errors(member, shape.members[key], f"{path}.{key}" if path else key)
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: {len(value)} items, more than the maximum {meta['max']}")
        for i, item in enumerate(value):
            errors += shape_errors(item, shape.member, f"{path}[{i}]")
    elif kind == "map" and isinstance(value, dict):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: {len(value)} entries, more than the maximum {meta['max']}")
        for key, item in value.items():
            errors += shape_errors(key, shape.key, f"{path} key {key!r}")
            errors += shape_errors(item, shape.value, f"{path}[{key!r}]")
    elif kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            errors.append(f"{path}: {value!r} is not one of the allowed values {sorted(shape.enum)}")
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: length {len(value)} is more than the maximum length {meta['max']} "
                          f"({value[:60]!r}...)")
        if "pattern" in meta and not pattern_match(meta["pattern"], value):
            errors.append(f"{path}: {value!r} does not match the pattern {meta['pattern']!r}")
    elif kind in ("integer", "long", "float", "double") and isinstance(value, (int, float)):
        if "max" in meta and value > meta["max"]:
            errors.append(f"{path}: {value} is more than the maximum {meta['max']}")
    return errors


def call_errors(service: str, operation: str, params: dict) -> list[str]:
    """Errors of one request: botocore's validator, then shape_errors, then the documented enums."""
    shape = input_shape(service, operation)
    report = ParamValidator().validate(params, shape)
    errors = [line.strip() for line in report.generate_report().splitlines()] if report.has_errors() else []
    errors += shape_errors(params, shape, "")
    for (svc, op, member) in DOC_ENUMS:
        if (svc, op) == (service, operation) and member in params:
            allowed = doc_enum(svc, op, member)
            if params[member] not in allowed:
                errors.append(f"{member}: {params[member]!r} is not one of the allowed values {list(allowed)} "
                              "(from the field's documentation in the model)")
    return errors


def build_requests(type_: str, name: str, props: dict, ctx: Ctx | None = None) -> tuple[list[Call], list[str]]:
    """(the requests, the inputs the builder left unread) of one resource."""
    inputs = Inputs(props)
    calls = [(s, op, prune(params)) for s, op, params in BUILDERS[type_](inputs, ctx or Ctx(name))]
    return calls, inputs.unread()


def resource_errors(type_: str, name: str, props: dict, ctx: Ctx | None = None) -> list[str]:
    """Every error of one resource's requests, each naming the resource, the call and the parameter path."""
    if type_ not in BUILDERS:
        return [f"{type_} {name}: no request builder for this type"]
    calls, unread = build_requests(type_, name, props, ctx)
    errors = [f"{type_} {name}: input {path} is mapped to no request field" for path in unread]
    for service, operation, params in calls:
        errors += [f"{type_} {name}: {service} {operation}: {e}" for e in call_errors(service, operation, params)]
    return errors


def stack_context(ev: StackEvaluation) -> dict:
    """Region and default tags of the stack's AWS provider (what every request of the stack shares)."""
    provider = ev.one("pulumi:providers:aws").props
    default_tags = provider.get("defaultTags") or {}
    if isinstance(default_tags, str):
        default_tags = json.loads(default_tags)
    return {"region": provider.get("region") or DEFAULT_REGION, "default_tags": default_tags.get("tags") or {}}


def aws_resources(ev: StackEvaluation) -> list:
    return [r for r in ev if r.type.startswith("aws:")]


def request_errors(ev: StackEvaluation) -> list[str]:
    """Errors of the requests of every AWS resource of a stack."""
    shared = stack_context(ev)
    return [e for r in aws_resources(ev) for e in resource_errors(r.type, r.name, r.props, Ctx(r.name, r.id, **shared))]
