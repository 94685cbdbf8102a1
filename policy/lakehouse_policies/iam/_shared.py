"""What several IAM policies need: the identity documents' statements and their elements."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator, Mapping, Optional

from pulumi_policy import ResourceValidationArgs

from .. import types as T
from .._common import BadDocument, as_list, policy_document, sid, statements

IDENTITY_TYPES = list(T.IDENTITY_DOCUMENTS) + [T.IAM_ROLE]


def identity_statements(args: ResourceValidationArgs) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
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


def statement_actions(st: Mapping[str, Any]) -> list[str]:
    return [str(a) for a in as_list(st.get("Action"))]


def condition_keys(st: Mapping[str, Any]) -> set[str]:
    keys = set()
    for block in (st.get("Condition") or {}).values():
        if hasattr(block, "keys"):
            keys.update(str(k).lower() for k in block.keys())
    return keys


# --- what an action grants, from parliament's IAM database -------------------------------------------

# The access levels of the Service Authorization Reference that change data or who may reach it.
WRITE_LEVELS = ("Write", "Permissions management")


@dataclass(frozen=True)
class Grant:
    """One IAM action an Action element names, with its access level."""

    service: str
    name: str
    level: str

    @property
    def action(self) -> str:
        return f"{self.service}:{self.name}"


def is_wildcard(action: str) -> bool:
    return "*" in action or "?" in action


@lru_cache(maxsize=4096)
def expand(action: str) -> tuple[Grant, ...]:
    """Every action an Action element names (its wildcards expanded by parliament's database), with
    its access level; () for '*' (every action of every service), a malformed or an unknown action
    (aws-iam-policy-lint-parliament reports those)."""
    import parliament
    from parliament.statement import get_privilege_info

    if action == "*" or action.count(":") != 1:
        return ()
    try:
        found = parliament.expand_action(action)
    except Exception:
        return ()
    out = []
    for a in found:
        try:
            level = str(get_privilege_info(a["service"], a["action"])["access_level"])
        except Exception:
            level = ""
        out.append(Grant(str(a["service"]), str(a["action"]), level))
    return tuple(out)


@lru_cache(maxsize=4096)
def resource_types(service: str, name: str) -> tuple[tuple[str, str], ...]:
    """(resource type, ARN format as the reference writes it, e.g. arn:${Partition}:kms:${Region}:
    ${Account}:key/${KeyId}) of every resource type an action is authorized on."""
    from parliament import iam_definition
    from parliament.statement import get_privilege_info

    try:
        info = get_privilege_info(service, name)
    except Exception:
        return ()
    formats = {r["resource"]: r["arn"] for s in iam_definition if s["prefix"] == service for r in s["resources"]}
    types = [str(rt["resource_type"]).rstrip("*") for rt in info["resource_types"]]
    return tuple((t, formats[t]) for t in types if t in formats)


def arn_matches(resource_type: str, arn_format: str, resource: str) -> bool:
    """Does `resource` (a policy's ARN, with wildcards) name resources of this type? parliament's
    strict match: the type's own prefix (key/, table/ ...) must be written out."""
    from parliament import is_arn_strictly_valid

    glob = re.sub(r"\$\{.*?\}", "*", arn_format)
    try:
        return is_arn_strictly_valid(resource_type, glob, resource)
    except Exception:  # a malformed ARN is INVALID_ARN's finding
        return False


# Resource types whose ids AWS assigns at random: a wildcard anywhere in the id names no key in particular.
RANDOM_IDS = {("kms", "key")}


@dataclass(frozen=True)
class WholeType:
    """A resource ARN naming every resource of one type (in an account and region, or in any)."""

    service: str
    type: str
    any_region_or_account: bool


def whole_type(service: str, resource_type: str, arn_format: str, resource: str) -> Optional[WholeType]:
    """Whether `resource` names every resource of this type: after the type's prefix (the literal
    text of the reference's ARN format before its first variable: key/, secret:, table/, '' for S3
    objects) it has nothing but wildcards and separators. None when it names fewer, or not this type."""
    fmt_parts, parts = arn_format.split(":", 5), resource.split(":", 5)
    if resource == "*" or len(fmt_parts) < 6 or len(parts) < 6:
        return None
    # an empty region or account where the type has one matches none in parliament: it is any
    matched = ":".join(p if p or not f.startswith("${") else "*" for f, p in zip(fmt_parts, parts))
    if not arn_matches(resource_type, arn_format, matched):
        return None
    head = fmt_parts[5].split("${", 1)[0]
    if not parts[5].startswith(head):
        return None
    rest = parts[5][len(head):]
    every = bool(rest) and "*" in rest and set(rest) <= set("*?/:")
    if (service, resource_type) in RANDOM_IDS:
        every = is_wildcard(rest)
    if not every:
        return None
    wild = [p for fmt, p in ((fmt_parts[3], parts[3]), (fmt_parts[4], parts[4]))
            if fmt.startswith("${") and (not p or is_wildcard(p))]
    return WholeType(service, resource_type, bool(wild))


# Condition keys naming which resources a statement applies to: their tags (aws:ResourceTag/<key>,
# <service>:ResourceTag/<key>, s3:ExistingObjectTag/<key>), and a KMS key's aliases.
PINNING_OPERATORS = {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"}
KEY_ALIASES = "kms:resourcealiases"


def _resource_key(key: str, service: str) -> bool:
    if key == KEY_ALIASES:
        return service == "kms"
    prefix, _, name = key.partition(":")
    if prefix not in ("aws", service):
        return False
    return name.startswith("resourcetag/") or (prefix == "s3" and name.startswith("existingobjecttag/"))


def pins_resources(st: Mapping[str, Any], service: str) -> bool:
    """Does a condition of the statement pin the resources of `service` it applies to: a positive
    match (no IfExists, no ForAllValues:, which also hold without the key) of a resource tag, or of
    a KMS key's aliases (multi-valued: ForAnyValue: only), to literal values?"""
    from .._access import conditions

    for c in conditions(st):
        op, key = c.operator.lower(), c.key.lower()
        if op.endswith("ifexists") or op.startswith("forallvalues:"):
            continue
        if key == KEY_ALIASES and not op.startswith("foranyvalue:"):
            continue
        if op.removeprefix("foranyvalue:") not in PINNING_OPERATORS or not _resource_key(key, service):
            continue
        if c.values and all(v and not is_wildcard(v) for v in c.values) and (
                key != KEY_ALIASES or all(v.startswith("alias/") for v in c.values)):
            return True
    return False
