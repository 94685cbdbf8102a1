"""`DataCatalogEncryptionSettings` encrypts the catalog (`SSE-KMS` + key) and connection passwords (+ key);
a stack with catalog databases or connections must declare it (CKV_AWS_94).
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import CUSTOMER_KEY, Settings, first, key_ref, stack_policy, truthy


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


POLICY = stack_policy(
    name="aws-glue-catalog-enable-encryption",
    description="The Glue Data Catalog is encrypted with KMS, connection passwords included.",
    severity=Severity.HIGH,
    remediation=("Declare one aws.glue.DataCatalogEncryptionSettings with encryption_at_rest SSE-KMS + "
                 "sse_aws_kms_key_id and connection_password_encryption return_connection_password_encrypted=True "
                 "+ aws_kms_key_id."),
    check=_check_catalog_encryption,
    frameworks=(),
    tags=["encryption", "glue"],
)
