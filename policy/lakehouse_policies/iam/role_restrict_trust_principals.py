"""Trust policies name only allowed service principals (default glue, events, monitoring.rds)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import (
    BadDocument,
    Settings,
    is_allow,
    policy_document,
    principal_values,
    resource_policy,
    sid,
    statements,
)

TRUSTED_SERVICES = ["glue.amazonaws.com", "events.amazonaws.com", "monitoring.rds.amazonaws.com"]


def _check_trust(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    allowed = list(settings["allowedServicePrincipals"])
    for doc in T.documents(args.resource_type, args.props):
        if doc.kind != "trust":
            continue
        try:
            parsed = policy_document(doc.value)
        except BadDocument:
            continue
        for i, st in enumerate(statements(parsed)):
            if not is_allow(st):
                continue
            for kind, value in principal_values(st.get("Principal")):
                if kind != "Service" or value not in allowed:
                    report(f"trust policy {sid(st, i)} trusts {kind} principal {value!r}; expected only the "
                           f"service principals {', '.join(allowed)}")


POLICY = resource_policy(
    name="aws-iam-role-restrict-trust-principals",
    description="Roles can only be assumed by the expected AWS service principals.",
    severity=Severity.CRITICAL,
    remediation="Trust only the services that run the workload (glue.amazonaws.com for job and crawler roles).",
    types=[T.IAM_ROLE],
    check=_check_trust,
    config={
        "allowedServicePrincipals": {
            "type": "array",
            "items": {"type": "string"},
            "default": TRUSTED_SERVICES,
            "description": "Service principals a role trust policy may name.",
        },
    },
    frameworks=(),
    tags=["iam", "least-privilege"],
)
