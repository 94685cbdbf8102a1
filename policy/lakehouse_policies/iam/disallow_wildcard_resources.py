"""No Allow statement on `Resource "*"` (or `arn:aws:s3:::*`-like, or `NotResource`) except the allow-list
below (CKV_AWS_355, 288); no ARN naming every resource of a type of a data service (`key/*`, `secret:*`,
`table/*`, `log-group:*`: after the type's prefix in parliament's ARN formats, only wildcards) unless in a
literal region and account and with a condition pinning which: `ForAnyValue:StringEquals`
`kms:ResourceAliases` = literal aliases, or `aws:ResourceTag/<tag>` / `<service>:ResourceTag/<tag>` =
literal values (no IfExists, no ForAllValues).
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any, Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .._common import Settings, as_list, is_allow, resource_policy
from ._shared import (
    IDENTITY_TYPES,
    WholeType,
    condition_keys,
    expand,
    identity_statements,
    pins_resources,
    resource_types,
    statement_actions,
    whole_type,
)

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
    # A Step Functions state machine's log delivery to CloudWatch Logs: the Step Functions developer guide
    # ("Logging Step Functions using CloudWatch Logs") grants these on "*"; vended-log delivery has no
    # resource-level permissions.
    "logs:CreateLogDelivery": "",
    "logs:DeleteLogDelivery": "",
    "logs:DescribeLogGroups": "",
    "logs:DescribeResourcePolicies": "",
    "logs:GetLogDelivery": "",
    "logs:ListLogDeliveries": "",
    "logs:PutResourcePolicy": "",
    "logs:UpdateLogDelivery": "",
    # X-Ray tracing of a state machine (Step Functions developer guide, "Trace Step Functions request data
    # in AWS X-Ray"): the sending actions have no resource-level permissions.
    "xray:GetSamplingRules": "",
    "xray:GetSamplingTargets": "",
    "xray:PutTelemetryRecords": "",
    "xray:PutTraceSegments": "",
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


# Services whose resources hold or guard lake data: an ARN naming every resource of one of their types
# (key/*, secret:*, table/*, log-group:*) needs a condition pinning which. Not ec2: a job on a Glue
# connection creates, tags and deletes the network interfaces Glue makes for it (network-interface/*,
# ids AWS assigns at run time); its subnets, VPC and security groups are pinned by tag all the same.
RESOURCE_TYPE_SERVICES = [
    "s3", "glue", "kms", "secretsmanager", "athena", "lakeformation", "rds", "rds-data", "redshift",
    "redshift-data", "dynamodb", "sns", "sqs", "logs", "iam", "sts", "kinesis", "firehose", "ssm",
]
# Actions whose resources another policy judges: iam:PassRole (aws-iam-scope-pass-role: exact role ARNs).
OTHER_POLICIES_ACTIONS = {"iam:PassRole"}
BY_ALIAS = ("expected the key's ARN, or key/* of this account and region with ForAnyValue:StringEquals "
            "kms:ResourceAliases = the key's alias")
NO_KEY_PIN = ("without a condition naming the key (ForAnyValue:StringEquals kms:ResourceAliases = its alias, or "
              "aws:ResourceTag/<tag> = a value)")


def _whole_types(st: Mapping[str, Any], resource: str, services: set[str]) -> dict[WholeType, list[str]]:
    """The resource types `resource` names all of, for the statement's actions on `services`:
    type -> the actions (as written) authorized on it."""
    out: dict[WholeType, list[str]] = {}
    for action in statement_actions(st):
        for grant in expand(action):
            if grant.service not in services or grant.action in OTHER_POLICIES_ACTIONS:
                continue
            for rtype, fmt in resource_types(grant.service, grant.name):
                whole = whole_type(grant.service, rtype, fmt, resource)
                if whole and action not in out.setdefault(whole, []):
                    out[whole].append(action)
    return out


def _unpinned(where: str, label: str, st: Mapping[str, Any], resource: str, services: set[str]) -> list[str]:
    """Why each resource type `resource` names all of is not scoped, as messages."""
    out = []
    for whole, actions in _whole_types(st, resource, services).items():
        kms = (whole.service, whole.type) == ("kms", "key")
        if whole.any_region_or_account:
            why = "in any region or account"
        elif pins_resources(st, whole.service):
            continue
        else:
            why = NO_KEY_PIN if kms else (f"without a condition naming which (aws:ResourceTag/<tag> or "
                                          f"{whole.service}:ResourceTag/<tag> = a value)")
        what = "KMS key" if kms else whole.type
        expected = BY_ALIAS if kms else (f"expected the ARNs of the {whole.type} resources it needs, or "
                                         f"{whole.type} ARNs of this account and region with a condition "
                                         "pinning them to literal tag values")
        out.append(f"{where} {label} allows {', '.join(actions)} on every {what} '{resource}' {why}; {expected}")
    return out


def _check_wildcard_resources(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    allow = settings["starOnlyActions"]
    services = {s.lower() for s in settings["resourceTypeServices"]}
    for where, label, st in identity_statements(args):
        if not is_allow(st):
            continue
        if st.get("NotResource") is not None:
            report(f"{where} {label} uses NotResource (every other resource); expected an explicit Resource list")
            continue
        resources = [str(x) for x in as_list(st.get("Resource"))]
        stars = [r for r in resources if _is_star_resource(r)]
        for r in resources:
            if r not in stars:
                for message in _unpinned(where, label, st, r, services):
                    report(message)
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
                "AWS only offers on '*'; every resource of a type (key/*, secret:*) only with a condition "
                "pinning which (kms:ResourceAliases, resource tags).",
    severity=Severity.HIGH,
    remediation="Replace Resource '*' with the exact ARNs (bucket/prefix/*, catalog/database/table, key, "
                "secret). Actions without resource-level permissions go in their own statement, with the "
                "condition key the allow-list names. A KMS key whose ARN is not known yet: key/* of the "
                "account and region with ForAnyValue:StringEquals kms:ResourceAliases = its alias; a secret "
                "whose name is AWS-generated: with aws:ResourceTag/<tag> = a literal value.",
    types=IDENTITY_TYPES,
    check=_check_wildcard_resources,
    config={
        "starOnlyActions": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "default": STAR_ONLY_ACTIONS,
            "description": "Actions allowed on Resource '*' -> condition key the statement must use ('' = none).",
        },
        "resourceTypeServices": {
            "type": "array",
            "items": {"type": "string"},
            "default": RESOURCE_TYPE_SERVICES,
            "description": "IAM service prefixes whose whole-type ARNs (key/*, secret:*) need a pinning condition.",
        },
    },
    frameworks=(),
    tags=["iam", "least-privilege"],
)
