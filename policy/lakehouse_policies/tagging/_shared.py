"""What both tagging policies need: a resource's tags as plain strings."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs

from .._common import is_map


def resource_tags(args: ResourceValidationArgs) -> dict[str, str]:
    tags = args.props.get("tags")
    return {str(k): v for k, v in tags.items()} if is_map(tags) else {}
