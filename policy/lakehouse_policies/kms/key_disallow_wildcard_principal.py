"""No Allow statement of a key policy (`Key.policy`, `KeyPolicy`) names the `*` principal, whatever its
condition, or uses `NotPrincipal` (everyone but the principals it names).
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import (
    BadDocument,
    Settings,
    has_wildcard_principal,
    is_allow,
    policy_document,
    resource_policy,
    sid,
    statements,
)

EXPECTED = "expected only named principals (the account root, roles, AWS service principals)"


def _check_key_principal(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    try:
        doc = policy_document(args.props.get("policy"))
    except BadDocument:
        return  # aws-iam-policy-lint-parliament reports unreadable documents
    for i, st in enumerate(statements(doc)):
        if not is_allow(st):
            continue
        if st.get("NotPrincipal") is not None:
            report(f"key policy {sid(st, i)} allows everyone but its NotPrincipal; {EXPECTED}")
        elif has_wildcard_principal(st):
            report(f"key policy {sid(st, i)} allows Principal '*'; {EXPECTED}")


POLICY = resource_policy(
    name="aws-kms-key-disallow-wildcard-principal",
    description="KMS key policies grant nothing to the '*' principal, nor to everyone but a NotPrincipal.",
    severity=Severity.CRITICAL,
    remediation="Name the principals in the key policy: arn:aws:iam::<account>:root, the job role, "
                "or service principals such as logs.<region>.amazonaws.com.",
    types=[T.KMS_KEY, T.KMS_KEY_POLICY],
    check=_check_key_principal,
    frameworks=("AWS FSBP KMS.5",),
    tags=["encryption", "kms", "exposure"],
)
