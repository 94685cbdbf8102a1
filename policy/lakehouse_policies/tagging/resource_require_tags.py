"""Every taggable AWS resource (863 pulumi-aws types) has the required tags, non-empty."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .._common import Settings, resource_policy
from ..taggable import is_taggable, taggable_types
from ._shared import resource_tags

REQUIRED_TAGS = ["Environment", "Project", "Owner", "CostCenter", "DataClassification", "ManagedBy"]


def _check_required_tags(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    if not is_taggable(args.resource_type):
        return
    tags = resource_tags(args)
    missing = [t for t in settings["requiredTags"] if not str(tags.get(t) or "").strip()]
    if missing:
        report(f"missing required tags: {', '.join(missing)}; expected non-empty values for "
               f"{', '.join(settings['requiredTags'])}")


POLICY = resource_policy(
    name="aws-resource-require-tags",
    description="Every taggable AWS resource carries the required tags with non-empty values.",
    severity=Severity.MEDIUM,
    remediation="Add the missing keys to the resource's tags (the program's stack transform adds "
                "StackConfig.tags to every taggable resource).",
    types=sorted(taggable_types()),
    check=_check_required_tags,
    config={
        "requiredTags": {
            "type": "array",
            "items": {"type": "string"},
            "default": REQUIRED_TAGS,
            "description": "Tag keys every taggable resource must carry.",
        },
    },
    frameworks=(),
    tags=["tagging"],
)
