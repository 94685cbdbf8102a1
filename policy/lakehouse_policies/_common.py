"""Small helpers every policy module shares: policy construction (with the compliance frameworks a
policy serves), config defaults, reading the property shapes the policy engine hands over, and the
customer-managed KMS key checks of several services.

Properties arrive camelCase (the provider schema's names), wrapped in pulumi-policy's
unknown-checking proxies: test for `Mapping` / `Sequence`, never `dict` / `list`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Iterable, Iterator

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

# Every policy is mandatory unless the stack's policy config says otherwise.
DEFAULT_ENFORCEMENT = EnforcementLevel.MANDATORY

Settings = Mapping[str, Any]

# A framework a policy serves, as `frameworks=` names it: a control of the AWS Foundational Security
# Best Practices standard (Security Hub control id, e.g. "AWS FSBP S3.8") or a recommendation of the
# CIS AWS Foundations Benchmark (e.g. "CIS AWS v3.0.0 2.1.4"). Each is also one `framework:<...>` tag
# of the policy, which the engine reports and docs/policy-pack.md lists (frameworks_of).
FRAMEWORK = re.compile(r"^(AWS FSBP [A-Za-z0-9]+\.\d+|CIS AWS v\d+\.\d+\.\d+ \d+(\.\d+)*)$")
FRAMEWORK_TAG = "framework:"


def effective_config(config: Mapping[str, Any] | None, properties: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The policy's config with the schema defaults filled in.

    The Pulumi engine applies schema defaults, the SDK does not (so unit tests and the
    offline runner would not either): every policy reads its settings through this.
    """
    out = {k: spec.get("default") for k, spec in properties.items()}
    for k, v in (config or {}).items():
        if k in properties and v is not None:
            out[k] = v
    return out


def _tags(name: str, tags: list[str] | None, frameworks: Sequence[str]) -> list[str] | None:
    wrong = [f for f in frameworks if not isinstance(f, str) or not FRAMEWORK.match(f)]
    if wrong or isinstance(frameworks, str):
        raise ValueError(f"policy {name}: frameworks {wrong or frameworks!r} are not like 'AWS FSBP S3.8' or "
                         "'CIS AWS v3.0.0 2.1.4'")
    if tags is None and not frameworks:
        return None
    return [*(tags or []), *(FRAMEWORK_TAG + f for f in frameworks)]


def frameworks_of(policy: Policy) -> tuple[str, ...]:
    """The frameworks a policy serves (its `framework:` tags), in the order it names them."""
    return tuple(t[len(FRAMEWORK_TAG):] for t in policy.tags or () if t.startswith(FRAMEWORK_TAG))


def resource_policy(
    *,
    name: str,
    description: str,
    severity: Severity,
    remediation: str,
    types: Iterable[str] | None,
    check: Callable[[ResourceValidationArgs, ReportViolation, Settings], None],
    config: Mapping[str, Mapping[str, Any]] | None = None,
    enforcement: EnforcementLevel = DEFAULT_ENFORCEMENT,
    frameworks: Sequence[str] = (),
    tags: list[str] | None = None,
) -> ResourceValidationPolicy:
    """A ResourceValidationPolicy that only looks at `types` (None: every resource).

    frameworks: the controls the policy serves ("AWS FSBP S3.8", "CIS AWS v3.0.0 2.1.4"); empty
    when none applies."""
    wanted = frozenset(types) if types is not None else None
    properties = dict(config or {})

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if wanted is not None and args.resource_type not in wanted:
            return
        check(args, report, effective_config(args.get_config(), properties))

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement,
        config_schema=PolicyConfigSchema(properties) if properties else None,
        severity=severity,
        remediation_steps=remediation,
        tags=_tags(name, tags, frameworks),
    )


def stack_policy(
    *,
    name: str,
    description: str,
    severity: Severity,
    remediation: str,
    check: Callable[[StackValidationArgs, ReportViolation, Settings], None],
    config: Mapping[str, Mapping[str, Any]] | None = None,
    enforcement: EnforcementLevel = DEFAULT_ENFORCEMENT,
    frameworks: Sequence[str] = (),
    tags: list[str] | None = None,
) -> StackValidationPolicy:
    """A StackValidationPolicy: sees every resource of the stack (frameworks: as resource_policy)."""
    properties = dict(config or {})

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        check(args, report, effective_config(args.get_config(), properties))

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement,
        config_schema=PolicyConfigSchema(properties) if properties else None,
        severity=severity,
        remediation_steps=remediation,
        tags=_tags(name, tags, frameworks),
    )


# --- property shapes --------------------------------------------------------------------

def is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def as_list(value: Any) -> list[Any]:
    """A scalar, a list or None as a list (IAM lets Action, Resource... be either)."""
    if value is None:
        return []
    if is_list(value):
        return list(value)
    return [value]


def first(value: Any) -> Mapping[str, Any]:
    """Nested blocks come as a one-element list in some shapes and an object in others."""
    if is_list(value):
        return value[0] if value and is_map(value[0]) else {}
    return value if is_map(value) else {}


def truthy(value: Any) -> bool:
    """A boolean input, which may arrive as a bool or (from some state files) a string."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def fmt_number(value: float | None) -> str:
    if value is None:
        return "unset"
    return str(int(value)) if float(value).is_integer() else str(value)


def stack_of(urn: str) -> str:
    """The stack name inside a URN: urn:pulumi:<stack>::<project>::<type>::<name>."""
    parts = urn.split("::")
    head = parts[0] if parts else ""
    return head.rsplit(":", 1)[-1] if head.startswith("urn:pulumi:") else ""


def to_plain(value: Any) -> Any:
    """Unwrap the engine's proxies into plain dicts / lists (for json.dumps and parliament)."""
    if is_map(value):
        return {str(k): to_plain(v) for k, v in value.items()}
    if is_list(value):
        return [to_plain(v) for v in value]
    return value


class BadDocument(ValueError):
    """A policy document property that is not a JSON object."""


def policy_document(value: Any) -> dict[str, Any] | None:
    """A policy document input: a JSON string (what pulumi-aws takes) or an object.

    None when unset or empty; BadDocument when it does not parse as an object.
    """
    if value is None or value == "":
        return None
    if is_map(value):
        return to_plain(value)
    if isinstance(value, str):
        try:
            doc = json.loads(value)
        except json.JSONDecodeError as e:
            raise BadDocument(f"is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from e
        if not isinstance(doc, dict):
            raise BadDocument("is not a JSON object")
        return doc
    raise BadDocument(f"is a {type(value).__name__}, not a JSON policy document")


def statements(doc: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not doc:
        return []
    return [s for s in as_list(doc.get("Statement")) if is_map(s)]


def sid(statement: Mapping[str, Any], index: int) -> str:
    return f"statement {statement['Sid']!r}" if statement.get("Sid") else f"statement #{index + 1}"


def principal_values(principal: Any) -> Iterator[tuple[str, str]]:
    """(kind, value) pairs of a Principal element; a bare "*" is ("*", "*")."""
    if principal is None:
        return
    if isinstance(principal, str):
        yield ("*" if principal == "*" else "AWS", principal)
        return
    if is_map(principal):
        for kind, values in principal.items():
            for v in as_list(values):
                yield (str(kind), str(v))


def has_wildcard_principal(statement: Mapping[str, Any]) -> bool:
    return any(v == "*" for _, v in principal_values(statement.get("Principal")))


def is_allow(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect", "Allow") == "Allow"


# --- customer-managed KMS keys ------------------------------------------------------------------

CUSTOMER_KEY = "a customer-managed KMS key"


def is_aws_managed_key(key_id: str) -> bool:
    return key_id.startswith("alias/aws/") or ":alias/aws/" in key_id


def customer_key_check(prop: str, what: str) -> Callable[[ResourceValidationArgs, ReportViolation, Settings], None]:
    """A check that `prop` names a customer-managed KMS key (not unset, not an AWS-managed alias)."""
    def check(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
        key = key_ref(args.props, prop)
        if not key:
            report(f"{what} is not encrypted with {CUSTOMER_KEY}; expected {prop} set")
        elif is_aws_managed_key(str(key)):
            report(f"{what} uses the AWS-managed key {key}; expected {CUSTOMER_KEY} in {prop}")
    return check


# --- correlating resources in a stack policy ------------------------------------------------

def known(props: Mapping[str, Any], key: str) -> Any:
    """props[key], or None when unset or not known yet (preview of a new resource)."""
    from pulumi_policy.proxy import UnknownValueError

    try:
        return props.get(key)
    except UnknownValueError:
        return None


PENDING = "<known after apply>"


def key_ref(props: Mapping[str, Any], key: str) -> str:
    """A KMS key reference: "" when unset, PENDING when it is another resource's output not
    known during preview (a new key's ARN: set, and never an AWS-managed alias, which is a
    literal), else the value."""
    from pulumi_policy.proxy import UnknownValueError

    try:
        value = props.get(key)
    except UnknownValueError:
        return PENDING
    return str(value) if value not in (None, "") else ""


def references(child: Any, parent: Any, prop: str, parent_keys: Iterable[str] = ("bucket", "id")) -> bool:
    """Does `child.<prop>` point at `parent`? By the engine's property dependencies first
    (works while names are unknown), else by value against the parent's identifiers."""
    deps = (child.property_dependencies or {}).get(prop) or []
    if any(d is parent or getattr(d, "urn", None) == parent.urn for d in deps):
        return True
    ref = known(child.props, prop)
    if ref in (None, ""):
        return False
    ids = {known(parent.props, k) for k in parent_keys} - {None, ""}
    return ref in ids
