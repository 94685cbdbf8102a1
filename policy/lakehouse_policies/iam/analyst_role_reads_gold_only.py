"""The analyst role (an IAM role tagged `lakehouse:access = analyst`) reaches no bucket tagged
`lakehouse:bucket-role` raw, bronze or silver, and no Glue database located in one, in any
inline policy of the role (`RolePolicy` by the role it names)."""

from __future__ import annotations

import re
from typing import Any, Iterable

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import (
    BadDocument,
    Settings,
    as_list,
    is_allow,
    is_map,
    known,
    policy_document,
    references,
    sid,
    stack_policy,
    statements,
)

ANALYST = ("lakehouse:access", "analyst")
ROLE_TAG = "lakehouse:bucket-role"
BELOW_GOLD = ("raw", "bronze", "silver")
_S3 = re.compile(r"^arn:[^:]+:s3:::([^/]+)")
_GLUE = re.compile(r"^arn:[^:]+:glue:[^:]*:[^:]*:(?:database|table)/([^/]+)")


def _tags(r: Any) -> dict:
    tags = known(r.props, "tags")
    return dict(tags) if is_map(tags) else {}


def _below_gold(resources: Iterable[Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Buckets below gold (name -> zone) and the Glue databases located in them (name -> zone)."""
    buckets = {str(known(r.props, "bucket")): _tags(r)[ROLE_TAG] for r in resources
               if r.resource_type in (T.S3_BUCKET, T.S3_BUCKET_LEGACY) and _tags(r).get(ROLE_TAG) in BELOW_GOLD
               and known(r.props, "bucket")}
    databases = {}
    for r in resources:
        if r.resource_type == T.GLUE_CATALOG_DATABASE:
            location = str(known(r.props, "locationUri") or "")
            bucket = location.removeprefix("s3://").split("/", 1)[0]
            if bucket in buckets and known(r.props, "name"):
                databases[str(known(r.props, "name"))] = buckets[bucket]
    return buckets, databases


def _check(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    resources = list(args.resources)
    analysts = [r for r in resources if r.resource_type == T.IAM_ROLE and _tags(r).get(ANALYST[0]) == ANALYST[1]]
    if not analysts:
        return
    buckets, databases = _below_gold(resources)
    for role in analysts:
        for policy in (p for p in resources if p.resource_type == T.IAM_ROLE_POLICY
                       and references(p, role, "role", ("name", "id"))):
            try:
                doc = policy_document(known(policy.props, "policy"))
            except BadDocument:
                continue  # aws-iam-policy-lint-parliament reports it
            for i, st in enumerate(statements(doc)):
                if not is_allow(st):
                    continue
                for arn in (str(a) for a in as_list(st.get("Resource"))):
                    s3, glue = _S3.match(arn), _GLUE.match(arn)
                    zone = ((buckets.get(s3.group(1)) if s3 else None)
                            or (databases.get(glue.group(1)) if glue else None))
                    if zone:
                        report(f"analyst role {role.name}: {policy.name} {sid(st, i)} reaches the {zone} "
                               f"zone ({arn}); expected gold tables, the query results prefix and the workgroup only")


POLICY = stack_policy(
    name="aws-iam-analyst-role-reads-gold-only",
    description="The analyst role reaches gold only: no raw, bronze or silver bucket or Glue database.",
    severity=Severity.HIGH,
    remediation="Grant the analyst role the gold tables (lakehouse.model.iam.analyst_role_policy), nothing below gold.",
    check=_check,
    frameworks=(),
    tags=["iam", "least-privilege", "athena"],
)
