"""Correlating the resources of a stack policy: who references whom, while ids may be unknown.

At preview a new resource's id, ARN (and any output) is unknown, so a reference is found by the
engine's property dependencies first (`child.<prop>` depends on the parent resource), then by
value: a known id, ARN, name or bucket name of a resource of the stack. Values that name nothing
in the stack are kept as literals (an existing resource, or a typo), so a policy can say so.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from ._common import is_list, is_map

# the outputs and inputs a reference may carry the value of
IDENTIFYING_KEYS = ("id", "arn", "name", "bucket", "prefixListId")


def get(value: Any, *path: Any) -> Any:
    """value[path...], or None when missing or not known yet (preview)."""
    from pulumi_policy.proxy import UnknownValueError

    for key in path:
        try:
            if is_map(value):
                value = value.get(key)
            elif is_list(value) and isinstance(key, int) and 0 <= key < len(value):
                value = value[key]
            else:
                return None
        except UnknownValueError:
            return None
    return value


def items(value: Any) -> list[Any]:
    """The known members of a list (a scalar or an object as a one-member list; None as none)."""
    if value is None:
        return []
    if is_list(value):
        return [get(value, i) for i in range(len(value))]
    return [value]


def strings(value: Any) -> list[str]:
    """The known, non-empty strings of a scalar or a list."""
    return [v for v in items(value) if isinstance(v, str) and v]


def block(value: Any) -> Any:
    """A nested block: an object, or a one-element list in some shapes (None when neither)."""
    if is_list(value):
        value = get(value, 0)
    return value if is_map(value) else None


def is_set(r: Any, prop: str) -> bool:
    """Is r.<prop> set, known or not (a value or a property dependency)?"""
    from pulumi_policy.proxy import UnknownValueError

    if (r.property_dependencies or {}).get(prop):
        return True
    try:
        value = r.props.get(prop)
    except UnknownValueError:
        return True  # set to something not known yet
    return value not in (None, "", [], {})


def is_unknown(r: Any, prop: str) -> bool:
    """Is r.<prop> set to a value not known yet (preview)?"""
    from pulumi_policy.proxy import UnknownValueError

    try:
        r.props.get(prop)
    except UnknownValueError:
        return True
    return False


class StackIndex:
    """The stack's resources, by URN and by the known values that identify them."""

    def __init__(self, resources: Iterable[Any]):
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}
        self.by_value: dict[str, set[str]] = defaultdict(set)
        for r in self.resources:
            for key in IDENTIFYING_KEYS:
                for v in strings(get(r.props, key)):
                    self.by_value[v].add(r.urn)

    def of(self, *types: str) -> list[Any]:
        return [r for r in self.resources if r.resource_type in types]

    def refs(self, r: Any, prop: str, types: Iterable[str], *path: Any) -> set[str]:
        """What r.<prop>[path] names among resources of `types`: their URNs (by property dependency,
        else by a known id, ARN, name or bucket name), or the literal values naming nothing in the stack."""
        wanted = set(types)
        found = {d.urn for d in (r.property_dependencies or {}).get(prop) or [] if d.resource_type in wanted}
        value = get(r.props, prop)
        if path:
            value = get(block(value), *path)
        for v in strings(value):
            urns = {u for u in self.by_value.get(v, ()) if self.by_urn[u].resource_type in wanted}
            found |= urns if urns or found else {v}
        return found

    def points_at(self, r: Any, prop: str, target: Any) -> bool:
        """Does r.<prop> name `target` (a resource of the stack)?"""
        return target.urn in self.refs(r, prop, {target.resource_type})

    def name_of(self, r: Any, *keys: str) -> str:
        """A resource's physical name (the first known of `keys`), else its logical name."""
        for key in keys:
            value = get(r.props, key)
            if isinstance(value, str) and value:
                return value
        return r.name
