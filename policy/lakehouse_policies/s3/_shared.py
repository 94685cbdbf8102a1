"""What several S3 stack policies need: a bucket's settings resources and its policy documents."""

from __future__ import annotations

from typing import Any, Iterable, Optional

from .. import types as T
from .._common import BadDocument, is_allow, policy_document, principal_values, statements
from .._stack import StackIndex, get, is_unknown

LOG_DELIVERY_SERVICE = "logging.s3."  # logging.s3.amazonaws.com (and the partition's suffix)


def bucket_name(bucket: Any) -> Optional[str]:
    """The bucket's name when known (set, or known after apply)."""
    value = get(bucket.props, "bucket")
    return value if isinstance(value, str) and value else None


def label(bucket: Any) -> str:
    return f"bucket '{bucket.name}'"


def attached(s: StackIndex, bucket: Any, types: Iterable[str], prop: str = "bucket") -> list[Any]:
    """The resources of `types` whose `prop` names the bucket (by dependency, else by name/id)."""
    return [r for r in s.of(*types) if s.points_at(r, prop, bucket)]


def policy_documents(s: StackIndex, bucket: Any) -> tuple[list[dict], bool]:
    """(the known policy documents of the bucket, whether some document is not known yet): its
    BucketPolicy resources and the bucket's own `policy` input. Unreadable documents are left to
    aws-iam-policy-lint-parliament."""
    values, pending = [], False
    for r in [*attached(s, bucket, [T.S3_BUCKET_POLICY]), bucket]:
        if is_unknown(r, "policy"):
            pending = True
            continue
        values.append(get(r.props, "policy"))
    docs = []
    for value in values:
        try:
            doc = policy_document(value)
        except BadDocument:
            continue
        if doc:
            docs.append(doc)
    return docs, pending


def admits_log_delivery(docs: Iterable[dict]) -> bool:
    """Does some document allow the S3 server access logging service principal (a log bucket)?"""
    return any(is_allow(st) and any(kind == "Service" and value.startswith(LOG_DELIVERY_SERVICE)
                                    for kind, value in principal_values(st.get("Principal")))
               for doc in docs for st in statements(doc))
