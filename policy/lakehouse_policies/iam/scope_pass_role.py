"""`iam:PassRole` (or `iam:Pass*`) names exact role ARNs and has an `iam:PassedToService` condition
(CKV_AWS_286).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .._common import Settings, as_list, is_allow, resource_policy
from ._shared import IDENTITY_TYPES, condition_keys, identity_statements, statement_actions


def _grants_pass_role(action: str) -> bool:
    """An explicit iam:PassRole or a narrower pattern covering it (iam:Pass*); '*' and iam:*
    are aws-iam-disallow-wildcard-actions' findings."""
    a = action.lower()
    if a in ("*", "iam:*"):
        return False
    return fnmatchcase("iam:passrole", a)


def _check_pass_role(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    for where, label, st in identity_statements(args):
        if not is_allow(st) or not any(_grants_pass_role(a) for a in statement_actions(st)):
            continue
        wild = [r for r in (str(x) for x in as_list(st.get("Resource"))) if "*" in r or "?" in r]
        if wild or st.get("NotResource") is not None:
            report(f"{where} {label} allows iam:PassRole on {wild[0] if wild else 'NotResource'!r}; "
                   "expected the exact ARNs of the roles to pass")
        if "iam:passedtoservice" not in condition_keys(st):
            report(f"{where} {label} allows iam:PassRole without an iam:PassedToService condition; "
                   "expected the service the role is passed to (e.g. glue.amazonaws.com)")


POLICY = resource_policy(
    name="aws-iam-scope-pass-role",
    description="iam:PassRole names exact roles and the service they may be passed to.",
    severity=Severity.HIGH,
    remediation="Resource = the role ARNs; Condition StringEquals iam:PassedToService = glue.amazonaws.com.",
    types=IDENTITY_TYPES,
    check=_check_pass_role,
    frameworks=(),
    tags=["iam", "least-privilege", "privilege-escalation"],
)
