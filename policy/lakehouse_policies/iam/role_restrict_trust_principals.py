"""Trust policies name only allowed service principals (default glue, events, monitoring.rds,
vpc-flow-logs and states: the services of the roles the stack creates), or their own account's principals with
MFA: an account root principal (`arn:aws:iam::<A>:root`, the account delegating to IAM) only in a
statement whose conditions pin `aws:PrincipalAccount` to that same account A and require
`aws:MultiFactorAuthPresent` (the analyst role); never another account."""

from __future__ import annotations

import re

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

# The services the stack's own roles are made for: Glue jobs, EventBridge targets, RDS enhanced
# monitoring, VPC Flow Logs (the flow-log role GlueRdsConnection makes with the VPC it creates), and
# Step Functions (the role of a pipeline's state machine, PipelineStateMachine).
TRUSTED_SERVICES = ["glue.amazonaws.com", "events.amazonaws.com", "monitoring.rds.amazonaws.com",
                    "vpc-flow-logs.amazonaws.com", "states.amazonaws.com"]


_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")


def own_account_with_mfa(principal: str, statement: dict) -> bool:
    """An account root principal, in a statement pinning aws:PrincipalAccount to that account
    (StringEquals, a literal) and requiring MFA (Bool aws:MultiFactorAuthPresent = true)."""
    m = _ROOT.match(principal)
    condition = statement.get("Condition") or {}
    pinned = (condition.get("StringEquals") or {}).get("aws:PrincipalAccount")
    mfa = str((condition.get("Bool") or {}).get("aws:MultiFactorAuthPresent", "")).lower()
    return bool(m) and pinned == m.group(1) and mfa == "true"


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
                if kind == "AWS" and own_account_with_mfa(value, st):
                    continue
                if kind != "Service" or value not in allowed:
                    report(f"trust policy {sid(st, i)} trusts {kind} principal {value!r}; expected only the "
                           f"service principals {', '.join(allowed)}, or its own account's root with "
                           "aws:PrincipalAccount pinned to it and MFA required")


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
