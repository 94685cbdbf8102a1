"""Least privilege: IAM documents name exact actions and resources (checkov CKV_AWS_62, 63,
274, 286-290, 355 and the IAM linter parliament)."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, Iterable, Iterator, Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from . import types as T
from ._common import (
    BadDocument,
    Settings,
    as_list,
    is_allow,
    is_map,
    policy_document,
    principal_values,
    resource_policy,
    sid,
    statements,
)

# Services holding or guarding lake data: a service-wide wildcard on one of them is never least privilege.
DATA_SERVICES = [
    "s3", "glue", "kms", "secretsmanager", "athena", "lakeformation", "rds", "rds-data", "redshift",
    "redshift-data", "dynamodb", "sns", "sqs", "logs", "cloudwatch", "iam", "sts", "ec2", "kinesis", "firehose",
]

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

BROAD_MANAGED_POLICIES = [
    "AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "AmazonS3FullAccess", "AWSGlueConsoleFullAccess",
    "AWSGlueServiceRole", "AmazonRDSFullAccess", "SecretsManagerReadWrite", "AWSKeyManagementServicePowerUser",
    "AmazonAthenaFullAccess", "CloudWatchFullAccess", "CloudWatchLogsFullAccess", "AmazonSNSFullAccess",
    "AmazonEC2FullAccess", "AmazonVPCFullAccess", "AWSLakeFormationDataAdmin",
]

TRUSTED_SERVICES = ["glue.amazonaws.com", "events.amazonaws.com", "monitoring.rds.amazonaws.com"]

IDENTITY_TYPES = list(T.IDENTITY_DOCUMENTS) + [T.IAM_ROLE]


def _identity_statements(args: ResourceValidationArgs) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(property path, statement label, statement) of each identity document's statements."""
    for doc in T.documents(args.resource_type, args.props):
        if doc.kind != "identity":
            continue
        try:
            parsed = policy_document(doc.value)
        except BadDocument:
            continue  # aws-iam-policy-lint-parliament reports it
        for i, st in enumerate(statements(parsed)):
            yield doc.where, sid(st, i), st


def _actions(st: Mapping[str, Any]) -> list[str]:
    return [str(a) for a in as_list(st.get("Action"))]


# --- wildcard actions -----------------------------------------------------------------------

def _check_wildcard_actions(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    services = {s.lower() for s in settings["dataServices"]}
    for where, label, st in _identity_statements(args):
        if not is_allow(st):
            continue
        if st.get("NotAction") is not None:
            report(f"{where} {label} allows NotAction (every other action); expected an explicit Action list")
        for action in _actions(st):
            service, _, name = action.partition(":")
            if action == "*" or (name and set(name) <= {"*"} and service.lower() in services):
                report(f"{where} {label} allows '{action}'; expected the specific actions the workload needs")


disallow_wildcard_actions = resource_policy(
    name="aws-iam-disallow-wildcard-actions",
    description="IAM policies never allow '*' or a service-wide wildcard (e.g. s3:*) on a data service.",
    severity=Severity.HIGH,
    remediation="List the actions the job needs (e.g. s3:GetObject, s3:PutObject, glue:GetTable) instead of '*'.",
    types=IDENTITY_TYPES,
    check=_check_wildcard_actions,
    config={
        "dataServices": {
            "type": "array",
            "items": {"type": "string"},
            "default": DATA_SERVICES,
            "description": "IAM service prefixes on which '<service>:*' is refused.",
        },
    },
    tags=["iam", "least-privilege"],
)


# --- wildcard resources ---------------------------------------------------------------------

_STAR_ARN = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:[^:]*:[*/]+$")


def _is_star_resource(resource: str) -> bool:
    """'*', or an ARN whose resource part is only wildcards (arn:aws:s3:::*, arn:aws:glue:*:*:*)."""
    return resource == "*" or bool(_STAR_ARN.match(resource))


def _condition_keys(st: Mapping[str, Any]) -> set[str]:
    keys = set()
    for block in (st.get("Condition") or {}).values():
        if hasattr(block, "keys"):
            keys.update(str(k).lower() for k in block.keys())
    return keys


def _allowed_on_star(action: str, st: Mapping[str, Any], allow: Mapping[str, str]) -> bool:
    conditions = _condition_keys(st)
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
    for where, label, st in _identity_statements(args):
        if not is_allow(st):
            continue
        if st.get("NotResource") is not None:
            report(f"{where} {label} uses NotResource (every other resource); expected an explicit Resource list")
            continue
        resources = [str(x) for x in as_list(st.get("Resource"))]
        for r in resources:
            why = _unscoped_key_wildcard(r, st)
            if why:
                report(f"{where} {label} allows {', '.join(_actions(st))} on every KMS key '{r}' {why}; expected "
                       "the key's ARN, or key/* of this account and region with ForAnyValue:StringEquals "
                       "kms:ResourceAliases = the key's alias")
        stars = [r for r in resources if _is_star_resource(r)]
        if not stars:
            continue
        refused = [a for a in _actions(st) if not _allowed_on_star(a, st, allow)]
        if refused:
            report(f"{where} {label} allows {', '.join(refused)} on Resource '{stars[0]}'; expected the ARNs of "
                   "the lake's buckets, prefixes, tables, keys and secrets (only the documented "
                   "starOnlyActions may use '*')")


disallow_wildcard_resources = resource_policy(
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
    tags=["iam", "least-privilege"],
)


# --- managed policies --------------------------------------------------------------------

_MANAGED_ARN = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?([^/]+)$")


def _attached_arns(args: ResourceValidationArgs) -> list[str]:
    props = args.props
    if args.resource_type == T.IAM_ROLE:
        return [str(a) for a in as_list(props.get("managedPolicyArns"))]
    if args.resource_type == T.IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE:
        return [str(a) for a in as_list(props.get("policyArns"))]
    return [str(a) for a in as_list(props.get("policyArn"))]


def _check_managed_policies(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    denied = {n.lower() for n in settings["deniedPolicies"]}
    for arn in _attached_arns(args):
        m = _MANAGED_ARN.match(arn)
        if m and m.group(1).lower() in denied:
            report(f"attaches the broad AWS managed policy {m.group(1)} ({arn}); expected an inline or "
                   "customer-managed policy scoped to the lake's resources")


disallow_broad_managed_policies = resource_policy(
    name="aws-iam-disallow-broad-managed-policies",
    description="No role, user or group gets a broad AWS managed policy (AdministratorAccess, "
                "AmazonS3FullAccess, AWSGlueServiceRole ...).",
    severity=Severity.CRITICAL,
    remediation="Remove the attachment and grant what is needed with a scoped inline policy (aws.iam.RolePolicy).",
    types=[T.IAM_ROLE, T.IAM_ROLE_POLICY_ATTACHMENT, T.IAM_USER_POLICY_ATTACHMENT, T.IAM_GROUP_POLICY_ATTACHMENT,
           T.IAM_POLICY_ATTACHMENT, T.IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE],
    check=_check_managed_policies,
    config={
        "deniedPolicies": {
            "type": "array",
            "items": {"type": "string"},
            "default": BROAD_MANAGED_POLICIES,
            "description": "AWS managed policy names that may not be attached.",
        },
    },
    tags=["iam", "least-privilege"],
)


# --- trust policies ----------------------------------------------------------------------

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


restrict_trust_principals = resource_policy(
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
    tags=["iam", "least-privilege"],
)


# --- iam:PassRole ----------------------------------------------------------------------------

def _grants_pass_role(action: str) -> bool:
    """An explicit iam:PassRole or a narrower pattern covering it (iam:Pass*); '*' and iam:*
    are aws-iam-disallow-wildcard-actions' findings."""
    a = action.lower()
    if a in ("*", "iam:*"):
        return False
    return fnmatchcase("iam:passrole", a)


def _check_pass_role(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    for where, label, st in _identity_statements(args):
        if not is_allow(st) or not any(_grants_pass_role(a) for a in _actions(st)):
            continue
        wild = [r for r in (str(x) for x in as_list(st.get("Resource"))) if "*" in r or "?" in r]
        if wild or st.get("NotResource") is not None:
            report(f"{where} {label} allows iam:PassRole on {wild[0] if wild else 'NotResource'!r}; "
                   "expected the exact ARNs of the roles to pass")
        if "iam:passedtoservice" not in _condition_keys(st):
            report(f"{where} {label} allows iam:PassRole without an iam:PassedToService condition; "
                   "expected the service the role is passed to (e.g. glue.amazonaws.com)")


scope_pass_role = resource_policy(
    name="aws-iam-scope-pass-role",
    description="iam:PassRole names exact roles and the service they may be passed to.",
    severity=Severity.HIGH,
    remediation="Resource = the role ARNs; Condition StringEquals iam:PassedToService = glue.amazonaws.com.",
    types=IDENTITY_TYPES,
    check=_check_pass_role,
    tags=["iam", "least-privilege", "privilege-escalation"],
)


# --- parliament --------------------------------------------------------------------------

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


lint_policy_documents = resource_policy(
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
    tags=["iam"],
)

POLICIES = [
    disallow_wildcard_actions,
    disallow_wildcard_resources,
    disallow_broad_managed_policies,
    restrict_trust_principals,
    scope_pass_role,
    lint_policy_documents,
]
