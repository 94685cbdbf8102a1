"""What several IAM policies need: the identity documents' statements and their elements."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

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
