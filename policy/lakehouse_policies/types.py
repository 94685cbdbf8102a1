"""pulumi-aws v7 resource type tokens the pack inspects, and where policy documents live.

Tokens are checked against the installed pulumi-aws by tests/test_policy_pack.py.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, NamedTuple

from ._common import as_list, is_map

ATHENA_WORKGROUP = "aws:athena/workgroup:Workgroup"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_BUCKET_LEGACY = "aws:s3/bucketV2:BucketV2"  # v6 name, alias of Bucket in v7 state files
S3_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_SSE_LEGACY = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"

KMS_KEY = "aws:kms/key:Key"
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"

GLUE_JOB = "aws:glue/job:Job"
GLUE_CRAWLER = "aws:glue/crawler:Crawler"
GLUE_SECURITY_CONFIGURATION = "aws:glue/securityConfiguration:SecurityConfiguration"
GLUE_CATALOG_ENCRYPTION = "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings"
GLUE_CATALOG_DATABASE = "aws:glue/catalogDatabase:CatalogDatabase"
GLUE_CONNECTION = "aws:glue/connection:Connection"
GLUE_RESOURCE_POLICY = "aws:glue/resourcePolicy:ResourcePolicy"
GLUE_DATA_QUALITY_RULESET = "aws:glue/dataQualityRuleset:DataQualityRuleset"
GLUE_TABLE_OPTIMIZER = "aws:glue/catalogTableOptimizer:CatalogTableOptimizer"

RDS_INSTANCE = "aws:rds/instance:Instance"
SNS_TOPIC = "aws:sns/topic:Topic"
SNS_TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOG_RESOURCE_POLICY = "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"

IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
IAM_USER_POLICY_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
IAM_GROUP_POLICY_ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
IAM_POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"

EC2_SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
EC2_SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
VPC_SECURITY_GROUP_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
VPC_SECURITY_GROUP_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"

# The network a Glue connection's jobs run in (aws-glue-connection-services-reachable).
EC2_VPC = "aws:ec2/vpc:Vpc"
EC2_SUBNET = "aws:ec2/subnet:Subnet"
EC2_ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
EC2_ROUTE = "aws:ec2/route:Route"
EC2_ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
EC2_NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EC2_VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"

# Bucket settings, each its own resource in pulumi-aws v7 (aws-s3-bucket-enable-versioning, -disable-acls,
# -acl-disallow-public, -enable-access-logging); the V2 names are v6's, deprecated resources in v7.
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
S3_VERSIONING_LEGACY = "aws:s3/bucketVersioningV2:BucketVersioningV2"
S3_OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
S3_ACL = "aws:s3/bucketAcl:BucketAcl"
S3_ACL_LEGACY = "aws:s3/bucketAclV2:BucketAclV2"
S3_LOGGING = "aws:s3/bucketLogging:BucketLogging"
S3_LOGGING_LEGACY = "aws:s3/bucketLoggingV2:BucketLoggingV2"

# Orchestration: Glue workflows and triggers, EventBridge rules and targets.
GLUE_WORKFLOW = "aws:glue/workflow:Workflow"
GLUE_TRIGGER = "aws:glue/trigger:Trigger"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
# EventBridge targets it invokes only through a role (aws-eventbridge-target-require-role)
SFN_STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
KINESIS_STREAM = "aws:kinesis/stream:Stream"
FIREHOSE_DELIVERY_STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
CODEBUILD_PROJECT = "aws:codebuild/project:Project"
CODEPIPELINE = "aws:codepipeline/pipeline:Pipeline"
BATCH_JOB_QUEUE = "aws:batch/jobQueue:JobQueue"

# A VPC's flow logs and default security group (aws-ec2-vpc-enable-flow-logs, -default-security-group-...).
EC2_FLOW_LOG = "aws:ec2/flowLog:FlowLog"
EC2_DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"

BUCKET_TYPES = (S3_BUCKET, S3_BUCKET_LEGACY)
SSE_TYPES = (S3_SSE, S3_SSE_LEGACY)
VERSIONING_TYPES = (S3_VERSIONING, S3_VERSIONING_LEGACY)
ACL_TYPES = (S3_ACL, S3_ACL_LEGACY)
LOGGING_TYPES = (S3_LOGGING, S3_LOGGING_LEGACY)

# Identity-based documents (what a principal may do) by resource type -> property.
IDENTITY_DOCUMENTS = {
    IAM_ROLE_POLICY: "policy",
    IAM_POLICY: "policy",
    IAM_USER_POLICY: "policy",
    IAM_GROUP_POLICY: "policy",
}
# Resource-based documents (who may use a resource) by resource type -> property.
RESOURCE_DOCUMENTS = {
    S3_BUCKET_POLICY: "policy",
    KMS_KEY: "policy",
    KMS_KEY_POLICY: "policy",
    SNS_TOPIC: "policy",
    SNS_TOPIC_POLICY: "policy",
    SECRET_POLICY: "policy",
    GLUE_RESOURCE_POLICY: "policy",
    LOG_RESOURCE_POLICY: "policyDocument",
    SQS_QUEUE_POLICY: "policy",
}
DOCUMENT_TYPES = frozenset(IDENTITY_DOCUMENTS) | frozenset(RESOURCE_DOCUMENTS) | {IAM_ROLE}


class Document(NamedTuple):
    kind: str  # "identity" | "resource" | "trust"
    where: str  # property path, e.g. "policy" or "inlinePolicies[0].policy"
    value: Any  # raw property value (JSON string or object)


def documents(resource_type: str, props: Mapping[str, Any]) -> Iterator[Document]:
    """Every policy document a resource carries, with its kind and property path."""
    if resource_type == IAM_ROLE:
        if props.get("assumeRolePolicy") not in (None, ""):
            yield Document("trust", "assumeRolePolicy", props.get("assumeRolePolicy"))
        for i, inline in enumerate(as_list(props.get("inlinePolicies"))):
            if is_map(inline) and inline.get("policy") not in (None, ""):
                yield Document("identity", f"inlinePolicies[{i}].policy", inline.get("policy"))
        return
    if resource_type in IDENTITY_DOCUMENTS:
        key = IDENTITY_DOCUMENTS[resource_type]
        if props.get(key) not in (None, ""):
            yield Document("identity", key, props.get(key))
    elif resource_type in RESOURCE_DOCUMENTS:
        key = RESOURCE_DOCUMENTS[resource_type]
        if props.get(key) not in (None, ""):
            yield Document("resource", key, props.get(key))
