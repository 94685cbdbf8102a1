"""No Allow statement on `Resource "*"` (or `arn:aws:s3:::*`-like, or `NotResource`) except the allow-list
below (CKV_AWS_355, 288); every KMS key (`arn:…:kms:<region>:<account>:key/*`) only in a literal region
and account and with `ForAnyValue:StringEquals` `kms:ResourceAliases` naming literal aliases.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any, Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .._common import Settings, as_list, is_allow, is_map, resource_policy
from ._shared import IDENTITY_TYPES, condition_keys, identity_statements, statement_actions

# Actions that AWS offers only on Resource "*" (no resource-level permissions), each with the
# condition key a statement must constrain it by ("" = none exists):
# - cloudwatch:PutMetricData: Glue job metrics; scope by namespace (Glue, or the job's own).
# - ec2:Describe*: Glue resolves a VPC connection's subnet, security groups, route tables and
#   S3 endpoint before it starts the job (AWS Glue developer guide, JDBC connections).
STAR_ONLY_ACTIONS = {
    "cloudwatch:PutMetricData": "cloudwatch:namespace",
    "ec2:DescribeVpcEndpoints": "",
    "ec2:DescribeRouteTables": "",
    "ec2:DescribeSubnets": "",
    "ec2:DescribeSecurityGroups": "",
    "ec2:DescribeNetworkInterfaces": "",
    "ec2:DescribeVpcs": "",
    "ec2:DescribeVpcAttribute": "",
}
_STAR_ARN = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:[^:]*:[*/]+$")


def _is_star_resource(resource: str) -> bool:
    """'*', or an ARN whose resource part is only wildcards (arn:aws:s3:::*, arn:aws:glue:*:*:*)."""
    return resource == "*" or bool(_STAR_ARN.match(resource))


def _allowed_on_star(action: str, st: Mapping[str, Any], allow: Mapping[str, str]) -> bool:
    conditions = condition_keys(st)
    for pattern, condition in allow.items():
        exact = action.lower() == pattern.lower()
        covered = "*" not in action and "?" not in action and fnmatchcase(action.lower(), pattern.lower())
        if (exact or covered) and (not condition or condition.lower() in conditions):
            return True
    return False


# Every KMS key of an account (and region): arn:<partition>:kms:<region>:<account>:key/<id with wildcards>.
_ANY_KMS_KEY = re.compile(r"^arn:[^:]+:kms:([^:]*):([^:]*):key/(.*)$")
ALIAS_CONDITION_OPERATOR = "ForAnyValue:StringEquals".lower()
ALIAS_CONDITION_KEY = "kms:ResourceAliases".lower()


def _wild(value: str) -> bool:
    return "*" in value or "?" in value


def _named_aliases(st: Mapping[str, Any]) -> list[str]:
    """The aliases a `ForAnyValue:StringEquals kms:ResourceAliases` condition requires of the key:
    literal alias/<name> values only, else none (a wildcard alias names no particular key)."""
    for operator, block in (st.get("Condition") or {}).items():
        if str(operator).lower() != ALIAS_CONDITION_OPERATOR or not is_map(block):
            continue
        for key, values in block.items():
            if str(key).lower() == ALIAS_CONDITION_KEY:
                aliases = [str(v) for v in as_list(values)]
                if aliases and all(a.startswith("alias/") and not _wild(a) for a in aliases):
                    return aliases
    return []


def _unscoped_key_wildcard(resource: str, st: Mapping[str, Any]) -> str:
    """Why a KMS key ARN with a wildcard key id is not scoped ("" when it is, or is no such ARN).

    `key/*` names one key when the statement requires the key to carry a named alias (ABAC for
    AWS KMS): ForAnyValue:StringEquals kms:ResourceAliases = literal aliases, in a literal region
    and account. ForAllValues alone is not enough: it also matches keys without any alias."""
    m = _ANY_KMS_KEY.match(resource)
    if not m or not _wild(m.group(3)):
        return ""
    region, account, _ = m.groups()
    if _wild(region) or _wild(account) or not region or not account:
        return "in any region or account"
    if not _named_aliases(st):
        return "without a ForAnyValue:StringEquals kms:ResourceAliases condition naming the key's alias"
    return ""


def _check_wildcard_resources(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    allow = settings["starOnlyActions"]
    for where, label, st in identity_statements(args):
        if not is_allow(st):
            continue
        if st.get("NotResource") is not None:
            report(f"{where} {label} uses NotResource (every other resource); expected an explicit Resource list")
            continue
        resources = [str(x) for x in as_list(st.get("Resource"))]
        for r in resources:
            why = _unscoped_key_wildcard(r, st)
            if why:
                report(f"{where} {label} allows {', '.join(statement_actions(st))} on every KMS key '{r}' {why}; "
                       "expected the key's ARN, or key/* of this account and region with ForAnyValue:StringEquals "
                       "kms:ResourceAliases = the key's alias")
        stars = [r for r in resources if _is_star_resource(r)]
        if not stars:
            continue
        refused = [a for a in statement_actions(st) if not _allowed_on_star(a, st, allow)]
        if refused:
            report(f"{where} {label} allows {', '.join(refused)} on Resource '{stars[0]}'; expected the ARNs of "
                   "the lake's buckets, prefixes, tables, keys and secrets (only the documented "
                   "starOnlyActions may use '*')")


POLICY = resource_policy(
    name="aws-iam-disallow-wildcard-resources",
    description="IAM policies scope every action to resource ARNs, except a short allow-list of actions "
                "AWS only offers on '*'; every KMS key (key/*) only with a kms:ResourceAliases condition.",
    severity=Severity.HIGH,
    remediation="Replace Resource '*' with the exact ARNs (bucket/prefix/*, catalog/database/table, key, "
                "secret). Actions without resource-level permissions go in their own statement, with the "
                "condition key the allow-list names. A KMS key whose ARN is not known yet: key/* of the "
                "account and region with ForAnyValue:StringEquals kms:ResourceAliases = its alias.",
    types=IDENTITY_TYPES,
    check=_check_wildcard_resources,
    config={
        "starOnlyActions": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "default": STAR_ONLY_ACTIONS,
            "description": "Actions allowed on Resource '*' -> condition key the statement must use ('' = none).",
        },
    },
    frameworks=(),
    tags=["iam", "least-privilege"],
)
