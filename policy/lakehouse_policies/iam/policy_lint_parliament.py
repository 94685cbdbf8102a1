"""Every identity, trust and resource policy document passes
[parliament](https://github.com/duo-labs/parliament): unknown actions or prefixes, malformed ARNs,
unknown condition operators or keys, resource mismatches for named actions, unparseable JSON.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Iterable, Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import BadDocument, Settings, as_list, is_map, policy_document, resource_policy, statements

# parliament issues that fail a document. Not MISMATCHED_TYPE: AWS's own documented key policy for
# CloudWatch Logs (ArnLike on kms:EncryptionContext:aws:logs:arn) trips it; nor the NOT_IDEAL
# group (RESOURCE_STAR ...), which aws-iam-disallow-wildcard-resources judges with its allow-list.
LINT_ISSUES = [
    "MALFORMED_JSON", "MALFORMED", "EXCEPTION", "DUPLICATE_SID", "INVALID_ARN", "INVALID_VERSION", "NO_VERSION",
    "UNKNOWN_ACTION", "UNKNOWN_PREFIX", "UNKNOWN_PRINCIPAL", "UNKNOWN_FEDERATION_SOURCE", "UNKNOWN_OPERATOR",
    "UNKNOWN_CONDITION_FOR_ACTION", "MISMATCHED_TYPE_OPERATION_TO_NULL", "RESOURCE_MISMATCH",
]


def _findings(doc: Mapping[str, Any]) -> list[Any]:
    import parliament  # imported lazily: it loads the IAM action database on first use

    return [f for f in parliament.analyze_policy_string(json.dumps(doc), ignore_private_auditors=True).findings
            if not (f.issue == "UNKNOWN_CONDITION_FOR_ACTION" and resource_bound_condition(f.detail))]


_UNKNOWN_CONDITION = re.compile(r"^Unknown condition (\S+) for action ([^:\s]+):(\S+)$")


def resource_bound_condition(detail: Any) -> bool:
    """Is an UNKNOWN_CONDITION_FOR_ACTION finding about a key of a resource type the action is
    authorized on? parliament takes an action's condition keys from the action table only, not
    those AWS lists under the resource type (duo-labs/parliament#145, open): kms:ResourceAliases
    is a condition key of the KMS `key` resource, valid on kms:Decrypt, yet reported as unknown.
    Checked against parliament's own IAM database, so a key unknown there stays a finding."""
    from parliament import iam_definition
    from parliament.statement import get_privilege_info, is_condition_key_match

    m = _UNKNOWN_CONDITION.match(str(detail))
    if not m:
        return False
    key, service, action = m.groups()
    try:
        info = get_privilege_info(service, action)
    except Exception:  # an unknown action is UNKNOWN_ACTION's finding
        return False
    types = {str(rt["resource_type"]).rstrip("*") for rt in info["resource_types"]} - {""}
    resources = next((s["resources"] for s in iam_definition if s["prefix"] == service), [])
    return any(r["resource"] in types and any(is_condition_key_match(c, key) for c in r.get("condition_keys") or [])
               for r in resources)


def _format(issue: str, detail: Any, location: Any) -> str:
    where = location.get("string") if isinstance(location, dict) else None
    return f"{issue}: {detail}" + (f" ({where})" if where and where not in str(detail) else "")


def lint(doc: dict[str, Any], kind: str = "identity", issues: Iterable[str] = LINT_ISSUES) -> list[str]:
    """The findings aws-iam-policy-lint-parliament reports on one document (kind: identity,
    trust or resource)."""
    return list(_lint_text(json.dumps(doc, sort_keys=True), kind, tuple(sorted(issues))))


@lru_cache(maxsize=1024)
def _lint_text(text: str, kind: str, issue_list: tuple[str, ...]) -> tuple[str, ...]:
    """parliament is slow-ish (~15 ms a document): one analysis per distinct document."""
    doc, issues = json.loads(text), set(issue_list)
    if kind == "trust":
        # A trust policy's statements apply to the role itself and carry no Resource element;
        # give parliament one so it goes on to check actions and principals.
        doc = {**doc, "Statement": [
            {**st, "Resource": "*"} if is_map(st) and "Resource" not in st and "NotResource" not in st else st
            for st in as_list(doc.get("Statement"))]}
    out = [_format(f.issue, f.detail, f.location) for f in _findings(doc)
           if f.issue in issues and f.issue != "RESOURCE_MISMATCH"]
    if "RESOURCE_MISMATCH" in issues:
        out += resource_mismatches(doc)
    return tuple(out)


def resource_mismatches(doc: Mapping[str, Any]) -> list[str]:
    """parliament's RESOURCE_MISMATCH, judged over the document rather than per statement.

    parliament wants each statement to name every resource type an action requires; IAM
    authorizes each resource of a request against all statements, so a multi-resource action
    (ec2:CreateNetworkInterface: network-interface, subnet, optional security-group) may be
    granted in parts, e.g. subnets and groups under a tag condition, the new ENI without. What
    is a mistake: a statement naming an action with none of its resources of a type the action
    takes (kms:Decrypt on a bucket), or a required type that no statement grants. Only actions
    named literally: the expansion of a wildcard (s3:* on an object ARN) is
    aws-iam-disallow-wildcard-actions' finding, not a typo.
    parliament's database and ARN matching decide what matches.
    """
    from parliament import is_arn_strictly_valid
    from parliament.statement import get_arn_format, get_privilege_info

    def matches(resource_type: str, arn_format: str, resource: str) -> bool:
        try:
            return resource == "*" or is_arn_strictly_valid(resource_type, arn_format, resource)
        except Exception:  # a malformed ARN is INVALID_ARN's finding
            return True

    wrong: dict[str, str] = {}
    granted: dict[str, list[str]] = {}
    types_of: dict[str, list[tuple[str, str]]] = {}
    for st in statements(doc):
        resources = [str(r) for r in as_list(st.get("Resource"))]
        for action in (str(a) for a in as_list(st.get("Action"))):
            if "*" in action or "?" in action or ":" not in action:
                continue
            service, name = action.split(":", 1)
            try:
                info = get_privilege_info(service.lower(), name)
            except Exception:  # an unknown action is UNKNOWN_ACTION's finding
                continue
            types = [(t, get_arn_format(t, info["service_resources"]))
                     for t in (rt["resource_type"] for rt in info["resource_types"]) if t]
            if not types:
                continue
            types_of[action] = types
            granted.setdefault(action, []).extend(resources)
            if resources and not any(matches(t, fmt, r) for r in resources for t, fmt in types):
                wrong.setdefault(action, "; ".join(fmt for t, fmt in types if t.endswith("*")) or types[0][1])
    out = [f"{a} needs a resource like {fmt}" for a, fmt in wrong.items()]
    for action, resources in granted.items():
        missing = [fmt for t, fmt in types_of[action] if t.endswith("*") and not any(
            matches(t, fmt, r) for r in resources)]
        if missing and action not in wrong:
            out.append(f"{action} needs a resource like {'; '.join(missing)} (no statement grants one)")
    return ["RESOURCE_MISMATCH: " + "; ".join(out)] if out else []


def _check_lint(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    issues = set(settings["issues"])
    for doc in T.documents(args.resource_type, args.props):
        try:
            parsed = policy_document(doc.value)
        except BadDocument as e:
            report(f"{doc.where} {e}; expected a JSON IAM policy document")
            continue
        for finding in lint(parsed, doc.kind, issues):
            report(f"{doc.where}: parliament {finding}")


POLICY = resource_policy(
    name="aws-iam-policy-lint-parliament",
    description="Every IAM, trust and resource policy document passes parliament: known actions, "
                "well-formed ARNs, conditions and elements.",
    severity=Severity.MEDIUM,
    remediation="Fix the document as parliament says (typos in actions, ARNs with the wrong number of parts, "
                "actions whose resource type matches none of the listed ARNs).",
    types=sorted(T.DOCUMENT_TYPES),
    check=_check_lint,
    config={
        "issues": {
            "type": "array",
            "items": {"type": "string"},
            "default": LINT_ISSUES,
            "description": "parliament finding issues that are violations.",
        },
    },
    frameworks=(),
    tags=["iam"],
)
