"""Every bucket has a bucket policy (a `BucketPolicy` naming it, by property dependency or bucket name, or the
bucket's own `policy`) with a Deny of `s3:*` (or `*`) for Principal `*` on the bucket and its objects
(`arn:…:s3:::<bucket>` and `…/*`) when `aws:SecureTransport` is false (`Bool` or `BoolIfExists`).

Without it S3 serves plain HTTP to any caller that asks for it; IAM policies cannot refuse it for
every principal, the bucket policy can. A policy whose document is not known yet is not judged.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, as_list, has_wildcard_principal, is_map, sid, stack_policy, statements
from .._stack import StackIndex
from ._shared import bucket_name, label, policy_documents

SECURE_TRANSPORT = "aws:securetransport"
EXPECTED = ("expected a Deny of s3:* for Principal '*' on the bucket and its objects when aws:SecureTransport "
            "is false")


def _glob(pattern: str) -> re.Pattern:
    """An IAM resource pattern (* and ? wildcards) as a regular expression."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), re.DOTALL)


def _covers(resources: list[str], target: str) -> bool:
    """Does one of the Resource entries match `target` (a bucket name, or `<name>/*` for every object)?"""
    for r in resources:
        if r == "*":
            return True
        parts = r.split(":", 5)
        if len(parts) == 6 and parts[0] == "arn" and parts[2] == "s3" and _glob(parts[5]).fullmatch(target):
            return True
    return False


def _on_insecure_transport(st: Mapping[str, Any]) -> bool:
    """Does the statement apply when aws:SecureTransport is false?"""
    condition = st.get("Condition")
    if not is_map(condition):
        return False
    for operator, block in condition.items():
        if str(operator).lower() not in ("bool", "boolifexists") or not is_map(block):
            continue
        for key, value in block.items():
            if str(key).lower() == SECURE_TRANSPORT and any(str(v).lower() == "false" for v in as_list(value)):
                return True
    return False


def _shortfall(st: Mapping[str, Any], name: Optional[str]) -> Optional[str]:
    """None when the statement is the TLS-only Deny for the bucket, else what it lacks."""
    if not has_wildcard_principal(st) or "NotPrincipal" in st:
        return "its Principal is not '*'"
    actions = [str(a).lower() for a in as_list(st.get("Action"))]
    if "NotAction" in st or not {"*", "s3:*"} & set(actions):
        return f"it denies {', '.join(map(str, as_list(st.get('Action') or st.get('NotAction')))) or 'nothing'}, " \
               "not s3:*"
    resources = [str(r) for r in as_list(st.get("Resource"))]
    if "NotResource" in st:
        return "it uses NotResource"
    if name is not None:
        missing = [t for t, what in ((name, "the bucket"), (f"{name}/*", "its objects")) if not _covers(resources, t)]
        if missing:
            return f"it does not cover {' and '.join(missing)}"
    return None


def _check_tls_only(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    s = StackIndex(args.resources)
    for bucket in s.of(*T.BUCKET_TYPES):
        docs, pending = policy_documents(s, bucket)
        if pending:
            continue  # a document not known yet: not judged
        if not docs:
            report(f"{label(bucket)} has no bucket policy; {EXPECTED}", bucket.urn)
            continue
        name = bucket_name(bucket)
        near = []
        for doc in docs:
            for i, st in enumerate(statements(doc)):
                if st.get("Effect") == "Deny" and _on_insecure_transport(st):
                    reason = _shortfall(st, name)
                    if reason is None:
                        break
                    near.append(f"{sid(st, i)} denies requests without TLS but {reason}")
            else:
                continue
            break
        else:
            what = near[0] if near else "does not deny requests without TLS"
            report(f"{label(bucket)} policy {what}; {EXPECTED}", bucket.urn)


POLICY = stack_policy(
    name="aws-s3-bucket-policy-require-tls",
    description="Every S3 bucket's policy denies requests that do not use TLS (aws:SecureTransport false).",
    severity=Severity.HIGH,
    remediation="Give every bucket an aws.s3.BucketPolicy with the statement of lakehouse.model.iam."
                "deny_insecure_transport: Effect Deny, Principal '*', Action s3:*, Resource the bucket ARN and "
                "<ARN>/*, Condition Bool aws:SecureTransport 'false'.",
    check=_check_tls_only,
    frameworks=("AWS FSBP S3.5",),
    tags=["encryption", "s3"],
)
