"""Encryption at rest and in transit with customer-managed KMS keys (checkov CKV_AWS_7, 33,
94, 99, 145, 149, 158, 195, 16 and the Glue JDBC SSL setting)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from . import types as T
from ._common import (
    BadDocument,
    Settings,
    as_list,
    first,
    has_wildcard_principal,
    is_allow,
    is_map,
    key_ref,
    policy_document,
    references,
    resource_policy,
    sid,
    stack_policy,
    statements,
    truthy,
)

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
CUSTOMER_KEY = "a customer-managed KMS key"


def _is_aws_managed_key(key_id: str) -> bool:
    return key_id.startswith("alias/aws/") or ":alias/aws/" in key_id


# --- S3 ----------------------------------------------------------------------------------

def _sse_problem(rules: object) -> str | None:
    """None when some rule applies SSE-KMS with a customer key, else what is wrong."""
    problems = []
    for rule in as_list(rules):
        default = first(first(rule).get("applyServerSideEncryptionByDefault"))
        algorithm = default.get("sseAlgorithm") or "no algorithm"
        key = key_ref(default, "kmsMasterKeyId")
        if algorithm not in KMS_ALGORITHMS:
            problems.append(f"is encrypted with {algorithm}")
        elif not key:
            problems.append(f"uses {algorithm} without kmsMasterKeyId (the AWS-managed aws/s3 key)")
        elif _is_aws_managed_key(key):
            problems.append(f"uses the AWS-managed key {key}")
        else:
            return None
    return problems[0] if problems else "has an encryption configuration without rules"


def _check_bucket_encryption(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    resources = args.resources
    buckets = [r for r in resources if r.resource_type in T.BUCKET_TYPES]
    configs = [r for r in resources if r.resource_type in T.SSE_TYPES]
    for bucket in buckets:
        attached = [c for c in configs if references(c, bucket, "bucket")]
        inline = bucket.props.get("serverSideEncryptionConfiguration")
        rule_sets = [c.props.get("rules") for c in attached]
        if inline:
            rule_sets.append(first(inline).get("rules") or first(inline).get("rule"))
        if not rule_sets:
            report(f"bucket '{bucket.name}' has no server-side encryption configuration; "
                   f"expected SSE-KMS (aws:kms) with {CUSTOMER_KEY}", bucket.urn)
            continue
        problems = [_sse_problem(rules or []) for rules in rule_sets]
        if all(problems):
            report(f"bucket '{bucket.name}' {problems[0]}; expected SSE-KMS (aws:kms) with {CUSTOMER_KEY}", bucket.urn)


s3_bucket_sse_kms = stack_policy(
    name="aws-s3-bucket-enable-sse-kms-customer-key",
    description="S3 buckets are encrypted with SSE-KMS using a customer-managed KMS key.",
    severity=Severity.HIGH,
    remediation=("Give every bucket an aws.s3.BucketServerSideEncryptionConfiguration whose rule sets "
                 "sse_algorithm='aws:kms' and kms_master_key_id=<the lake key ARN> (bucket_key_enabled=True)."),
    check=_check_bucket_encryption,
    tags=["encryption", "s3"],
)


# --- KMS ---------------------------------------------------------------------------------

def _check_key_rotation(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    usage = args.props.get("keyUsage") or "ENCRYPT_DECRYPT"
    spec = args.props.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    if usage != "ENCRYPT_DECRYPT" or spec != "SYMMETRIC_DEFAULT":
        return  # AWS only rotates symmetric encryption keys
    if not truthy(args.props.get("enableKeyRotation")):
        report("KMS key rotation is disabled; expected enableKeyRotation: true")


kms_key_rotation = resource_policy(
    name="aws-kms-key-enable-rotation",
    description="Symmetric customer-managed KMS keys rotate their key material yearly.",
    severity=Severity.MEDIUM,
    remediation="Set enable_key_rotation=True on the aws.kms.Key.",
    types=[T.KMS_KEY],
    check=_check_key_rotation,
    tags=["encryption", "kms"],
)


def _check_key_principal(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    try:
        doc = policy_document(args.props.get("policy"))
    except BadDocument:
        return  # aws-iam-policy-lint-parliament reports unreadable documents
    for i, st in enumerate(statements(doc)):
        if is_allow(st) and has_wildcard_principal(st):
            report(f"key policy {sid(st, i)} allows Principal '*'; expected only named principals "
                   "(the account root, roles, AWS service principals)")


kms_key_no_wildcard_principal = resource_policy(
    name="aws-kms-key-disallow-wildcard-principal",
    description="KMS key policies grant nothing to the '*' principal.",
    severity=Severity.CRITICAL,
    remediation="Name the principals in the key policy: arn:aws:iam::<account>:root, the job role, "
                "or service principals such as logs.<region>.amazonaws.com.",
    types=[T.KMS_KEY, T.KMS_KEY_POLICY],
    check=_check_key_principal,
    tags=["encryption", "kms", "exposure"],
)


# --- Glue --------------------------------------------------------------------------------

SECURITY_CONFIGURATION_PARTS = (
    ("s3Encryption", "s3EncryptionMode", "SSE-KMS", "S3"),
    ("cloudwatchEncryption", "cloudwatchEncryptionMode", "SSE-KMS", "CloudWatch logs"),
    ("jobBookmarksEncryption", "jobBookmarksEncryptionMode", "CSE-KMS", "job bookmarks"),
)


def _check_security_configuration(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    enc = first(args.props.get("encryptionConfiguration"))
    for block, mode_key, wanted, what in SECURITY_CONFIGURATION_PARTS:
        part = first(enc.get(block))
        mode = part.get(mode_key) or "DISABLED"
        if mode != wanted:
            report(f"{what} encryption is {mode}; expected {block}.{mode_key} = {wanted} with kmsKeyArn")
        elif not key_ref(part, "kmsKeyArn"):
            report(f"{what} encryption is {mode} without kmsKeyArn; expected {CUSTOMER_KEY}")


glue_security_configuration_kms = resource_policy(
    name="aws-glue-security-configuration-enable-kms",
    description="Glue security configurations encrypt S3 data, CloudWatch logs and job bookmarks with KMS.",
    severity=Severity.HIGH,
    remediation=("In encryption_configuration set s3_encryption SSE-KMS, cloudwatch_encryption SSE-KMS and "
                 "job_bookmarks_encryption CSE-KMS, each with kms_key_arn of the lake key."),
    types=[T.GLUE_SECURITY_CONFIGURATION],
    check=_check_security_configuration,
    tags=["encryption", "glue"],
)


def _check_has_security_configuration(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if not args.props.get("securityConfiguration"):
        kind = "Glue job" if args.resource_type == T.GLUE_JOB else "Glue crawler"
        report(f"{kind} has no securityConfiguration; expected the name of a KMS security configuration")


glue_require_security_configuration = resource_policy(
    name="aws-glue-require-security-configuration",
    description="Every Glue job and crawler runs with a security configuration.",
    severity=Severity.HIGH,
    remediation=("Pass security_configuration=<the stack's aws.glue.SecurityConfiguration name> "
                 "to every job and crawler."),
    types=[T.GLUE_JOB, T.GLUE_CRAWLER],
    check=_check_has_security_configuration,
    tags=["encryption", "glue"],
)


def _catalog_settings_problems(props) -> list[str]:
    settings = first(props.get("dataCatalogEncryptionSettings"))
    at_rest = first(settings.get("encryptionAtRest"))
    passwords = first(settings.get("connectionPasswordEncryption"))
    problems = []
    mode = at_rest.get("catalogEncryptionMode") or "DISABLED"
    if mode not in ("SSE-KMS", "SSE-KMS-WITH-SERVICE-ROLE"):
        problems.append(f"catalog encryption at rest is {mode}; expected encryptionAtRest.catalogEncryptionMode "
                        "= SSE-KMS with sseAwsKmsKeyId")
    elif not key_ref(at_rest, "sseAwsKmsKeyId"):
        problems.append(f"catalog encryption at rest has no sseAwsKmsKeyId; expected {CUSTOMER_KEY}")
    if not truthy(passwords.get("returnConnectionPasswordEncrypted")):
        problems.append("connection passwords are returned unencrypted; expected connectionPasswordEncryption."
                        "returnConnectionPasswordEncrypted = true with awsKmsKeyId")
    elif not key_ref(passwords, "awsKmsKeyId"):
        problems.append(f"connection password encryption has no awsKmsKeyId; expected {CUSTOMER_KEY}")
    return problems


def _check_catalog_encryption(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    settings = [r for r in args.resources if r.resource_type == T.GLUE_CATALOG_ENCRYPTION]
    for s in settings:
        for problem in _catalog_settings_problems(s.props):
            report(problem, s.urn)
    uses_catalog = [r for r in args.resources if r.resource_type in (T.GLUE_CATALOG_DATABASE, T.GLUE_CONNECTION)]
    if uses_catalog and not settings:
        report(f"the stack creates Glue catalog resources ({len(uses_catalog)}) but no "
               "aws.glue.DataCatalogEncryptionSettings; expected catalog encryption at rest and "
               "connection password encryption with KMS")


glue_catalog_encryption = stack_policy(
    name="aws-glue-catalog-enable-encryption",
    description="The Glue Data Catalog is encrypted with KMS, connection passwords included.",
    severity=Severity.HIGH,
    remediation=("Declare one aws.glue.DataCatalogEncryptionSettings with encryption_at_rest SSE-KMS + "
                 "sse_aws_kms_key_id and connection_password_encryption return_connection_password_encrypted=True "
                 "+ aws_kms_key_id."),
    check=_check_catalog_encryption,
    tags=["encryption", "glue"],
)


def _check_connection_ssl(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if (args.props.get("connectionType") or "JDBC") != "JDBC":
        return
    props = args.props.get("connectionProperties") or {}
    value = props.get("JDBC_ENFORCE_SSL") if is_map(props) else None
    if str(value).lower() != "true":
        shown = "unset" if value is None else repr(value)
        report(f"JDBC connection does not enforce SSL (JDBC_ENFORCE_SSL is {shown}); "
               "expected connectionProperties.JDBC_ENFORCE_SSL = \"true\"")


glue_connection_ssl = resource_policy(
    name="aws-glue-connection-enforce-ssl",
    description="Glue JDBC connections require SSL.",
    severity=Severity.HIGH,
    remediation="Add JDBC_ENFORCE_SSL='true' to connection_properties of the aws.glue.Connection.",
    types=[T.GLUE_CONNECTION],
    check=_check_connection_ssl,
    tags=["encryption", "glue", "network"],
)


# --- other stores --------------------------------------------------------------------------

def _check_rds_encrypted(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if args.props.get("replicateSourceDb"):
        return  # a replica inherits the source's encryption
    if not truthy(args.props.get("storageEncrypted")):
        report("RDS storage is not encrypted; expected storageEncrypted: true with kmsKeyId")


rds_storage_encrypted = resource_policy(
    name="aws-rds-instance-enable-storage-encryption",
    description="RDS instances encrypt their storage.",
    severity=Severity.HIGH,
    remediation="Set storage_encrypted=True and kms_key_id=<the lake key ARN> (needs a new instance).",
    types=[T.RDS_INSTANCE],
    check=_check_rds_encrypted,
    tags=["encryption", "rds"],
)


def _kms_key_check(prop: str, what: str):
    def check(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
        key = key_ref(args.props, prop)
        if not key:
            report(f"{what} is not encrypted with {CUSTOMER_KEY}; expected {prop} set")
        elif _is_aws_managed_key(str(key)):
            report(f"{what} uses the AWS-managed key {key}; expected {CUSTOMER_KEY} in {prop}")
    return check


sns_topic_kms = resource_policy(
    name="aws-sns-topic-enable-kms",
    description="SNS topics encrypt messages with a customer-managed KMS key.",
    severity=Severity.MEDIUM,
    remediation="Set kms_master_key_id=<the lake key ARN>; the key policy must let the publishing services use it.",
    types=[T.SNS_TOPIC],
    check=_kms_key_check("kmsMasterKeyId", "SNS topic"),
    tags=["encryption", "sns"],
)

log_group_kms = resource_policy(
    name="aws-cloudwatch-log-group-enable-kms",
    description="CloudWatch log groups are encrypted with a customer-managed KMS key.",
    severity=Severity.MEDIUM,
    remediation="Set kms_key_id=<the lake key ARN>; the key policy must allow logs.<region>.amazonaws.com.",
    types=[T.LOG_GROUP],
    check=_kms_key_check("kmsKeyId", "log group"),
    tags=["encryption", "logs"],
)

secret_kms = resource_policy(
    name="aws-secretsmanager-secret-enable-cmk",
    description="Secrets Manager secrets are encrypted with a customer-managed KMS key.",
    severity=Severity.MEDIUM,
    remediation="Set kms_key_id=<the lake key ARN> on the aws.secretsmanager.Secret.",
    types=[T.SECRET],
    check=_kms_key_check("kmsKeyId", "secret"),
    tags=["encryption", "secretsmanager"],
)

POLICIES = [
    s3_bucket_sse_kms,
    kms_key_rotation,
    kms_key_no_wildcard_principal,
    glue_security_configuration_kms,
    glue_require_security_configuration,
    glue_catalog_encryption,
    glue_connection_ssl,
    rds_storage_encrypted,
    sns_topic_kms,
    log_group_kms,
    secret_kms,
]
