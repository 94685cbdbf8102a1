"""No attachment (`RolePolicyAttachment`, user/group attachments, `managedPolicyArns`,
`RolePolicyAttachmentsExclusive`) of AdministratorAccess, PowerUserAccess, IAMFullAccess,
AmazonS3FullAccess, AWSGlueConsoleFullAccess, AWSGlueServiceRole, ... (CKV_AWS_274).
"""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, as_list, resource_policy

BROAD_MANAGED_POLICIES = [
    "AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "AmazonS3FullAccess", "AWSGlueConsoleFullAccess",
    "AWSGlueServiceRole", "AmazonRDSFullAccess", "SecretsManagerReadWrite", "AWSKeyManagementServicePowerUser",
    "AmazonAthenaFullAccess", "CloudWatchFullAccess", "CloudWatchLogsFullAccess", "AmazonSNSFullAccess",
    "AmazonEC2FullAccess", "AmazonVPCFullAccess", "AWSLakeFormationDataAdmin",
]
_MANAGED_ARN = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?([^/]+)$")


def _attached_arns(args: ResourceValidationArgs) -> list[str]:
    props = args.props
    if args.resource_type == T.IAM_ROLE:
        return [str(a) for a in as_list(props.get("managedPolicyArns"))]
    if args.resource_type == T.IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE:
        return [str(a) for a in as_list(props.get("policyArns"))]
    return [str(a) for a in as_list(props.get("policyArn"))]


def _check_managed_policies(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    denied = {n.lower() for n in settings["deniedPolicies"]}
    for arn in _attached_arns(args):
        m = _MANAGED_ARN.match(arn)
        if m and m.group(1).lower() in denied:
            report(f"attaches the broad AWS managed policy {m.group(1)} ({arn}); expected an inline or "
                   "customer-managed policy scoped to the lake's resources")


POLICY = resource_policy(
    name="aws-iam-disallow-broad-managed-policies",
    description="No role, user or group gets a broad AWS managed policy (AdministratorAccess, "
                "AmazonS3FullAccess, AWSGlueServiceRole ...).",
    severity=Severity.CRITICAL,
    remediation="Remove the attachment and grant what is needed with a scoped inline policy (aws.iam.RolePolicy).",
    types=[T.IAM_ROLE, T.IAM_ROLE_POLICY_ATTACHMENT, T.IAM_USER_POLICY_ATTACHMENT, T.IAM_GROUP_POLICY_ATTACHMENT,
           T.IAM_POLICY_ATTACHMENT, T.IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE],
    check=_check_managed_policies,
    config={
        "deniedPolicies": {
            "type": "array",
            "items": {"type": "string"},
            "default": BROAD_MANAGED_POLICIES,
            "description": "AWS managed policy names that may not be attached.",
        },
    },
    frameworks=("CIS AWS v3.0.0 1.16",),
    tags=["iam", "least-privilege"],
)
