"""No Allow statement with `*`, `<service>:*` on a data service, or `NotAction` (CKV_AWS_62/63)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .._common import Settings, is_allow, resource_policy
from ._shared import IDENTITY_TYPES, identity_statements, statement_actions

# Services holding or guarding lake data: a service-wide wildcard on one of them is never least privilege.
DATA_SERVICES = [
    "s3", "glue", "kms", "secretsmanager", "athena", "lakeformation", "rds", "rds-data", "redshift",
    "redshift-data", "dynamodb", "sns", "sqs", "logs", "cloudwatch", "iam", "sts", "ec2", "kinesis", "firehose",
]


def _check_wildcard_actions(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    services = {s.lower() for s in settings["dataServices"]}
    for where, label, st in identity_statements(args):
        if not is_allow(st):
            continue
        if st.get("NotAction") is not None:
            report(f"{where} {label} allows NotAction (every other action); expected an explicit Action list")
        for action in statement_actions(st):
            service, _, name = action.partition(":")
            if action == "*" or (name and set(name) <= {"*"} and service.lower() in services):
                report(f"{where} {label} allows '{action}'; expected the specific actions the workload needs")


POLICY = resource_policy(
    name="aws-iam-disallow-wildcard-actions",
    description="IAM policies never allow '*' or a service-wide wildcard (e.g. s3:*) on a data service.",
    severity=Severity.HIGH,
    remediation="List the actions the job needs (e.g. s3:GetObject, s3:PutObject, glue:GetTable) instead of '*'.",
    types=IDENTITY_TYPES,
    check=_check_wildcard_actions,
    config={
        "dataServices": {
            "type": "array",
            "items": {"type": "string"},
            "default": DATA_SERVICES,
            "description": "IAM service prefixes on which '<service>:*' is refused.",
        },
    },
    frameworks=("AWS FSBP IAM.1", "AWS FSBP IAM.21", "CIS AWS v3.0.0 1.16"),
    tags=["iam", "least-privilege"],
)
