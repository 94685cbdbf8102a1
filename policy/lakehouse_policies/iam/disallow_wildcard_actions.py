"""No Allow statement with `*`, `<service>:*` on a data service, or `NotAction` (CKV_AWS_62/63); no
narrower wildcard on a data service (`s3:*Object`, `s3:Put*`, `glue:*Table`, `s3:?utObject`) that
expands, in parliament's IAM database, to an action of access level Write or Permissions management.
Wildcards that expand to reads and lists only (`s3:GetObject*`, `s3:List*`) are fine; writes are
listed exactly.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .._common import Settings, as_list, is_allow, resource_policy
from ._shared import (
    IDENTITY_TYPES,
    WRITE_LEVELS,
    Grant,
    arn_matches,
    expand,
    identity_statements,
    is_wildcard,
    resource_types,
    statement_actions,
)

# Services holding or guarding lake data: a service-wide wildcard on one of them is never least privilege.
DATA_SERVICES = [
    "s3", "glue", "kms", "secretsmanager", "athena", "lakeformation", "rds", "rds-data", "redshift",
    "redshift-data", "dynamodb", "sns", "sqs", "logs", "cloudwatch", "iam", "sts", "ec2", "kinesis", "firehose",
]

MAX_SHOWN = 8  # actions a message names of a wildcard's expansion


def _by_relevance(grants: list[Grant], st) -> list[str]:
    """The actions, those authorized on one of the statement's resources first (what it grants)."""
    resources = [str(r) for r in as_list(st.get("Resource"))]

    def on_resources(g: Grant) -> bool:
        return any(arn_matches(t, f, r) for t, f in resource_types(g.service, g.name) for r in resources)
    return [g.action for g in sorted(grants, key=lambda g: not on_resources(g))]


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
            elif is_wildcard(action) and service.lower() in services:
                writes = _by_relevance([g for g in expand(action) if g.level in WRITE_LEVELS], st)
                if writes:
                    shown = ", ".join(writes[:MAX_SHOWN]) + (f" and {len(writes) - MAX_SHOWN} more"
                                                             if len(writes) > MAX_SHOWN else "")
                    report(f"{where} {label} allows '{action}', which expands to {len(writes)} write or permissions "
                           f"management action{'s' if len(writes) > 1 else ''} ({shown}); expected the exact "
                           "actions the workload needs")


POLICY = resource_policy(
    name="aws-iam-disallow-wildcard-actions",
    description="IAM policies never allow '*', a service-wide wildcard (e.g. s3:*) on a data service, or a "
                "wildcard that expands to writes or permission changes there (s3:Put*, s3:*Object).",
    severity=Severity.HIGH,
    remediation="List the actions the job needs (e.g. s3:GetObject, s3:PutObject, glue:GetTable) instead of '*' "
                "or a pattern; a wildcard is fine only where it expands to reads and lists.",
    types=IDENTITY_TYPES,
    check=_check_wildcard_actions,
    config={
        "dataServices": {
            "type": "array",
            "items": {"type": "string"},
            "default": DATA_SERVICES,
            "description": "IAM service prefixes on which '<service>:*', or a wildcard expanding to a write, is "
                           "refused.",
        },
    },
    frameworks=("AWS FSBP IAM.1", "AWS FSBP IAM.21", "CIS AWS v3.0.0 1.16"),
    tags=["iam", "least-privilege"],
)
