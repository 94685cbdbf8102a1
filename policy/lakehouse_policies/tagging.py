"""Cost allocation and ownership tags on every taggable AWS resource.

Provider `defaultTags` are not part of resource inputs, so the program tags resources
itself (the policy checks what it can see).
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ._common import Settings, is_map, resource_policy, stack_of
from .taggable import is_taggable, taggable_types

REQUIRED_TAGS = ["Environment", "Project", "Owner", "CostCenter", "DataClassification", "ManagedBy"]


def _tags(args: ResourceValidationArgs) -> dict[str, str]:
    tags = args.props.get("tags")
    return {str(k): v for k, v in tags.items()} if is_map(tags) else {}


def _check_required_tags(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    if not is_taggable(args.resource_type):
        return
    tags = _tags(args)
    missing = [t for t in settings["requiredTags"] if not str(tags.get(t) or "").strip()]
    if missing:
        report(f"missing required tags: {', '.join(missing)}; expected non-empty values for "
               f"{', '.join(settings['requiredTags'])}")


require_tags = resource_policy(
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
    tags=["tagging"],
)


def _check_environment(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    if not is_taggable(args.resource_type):
        return
    value = _tags(args).get("Environment")
    if value is None or not str(value).strip():
        return  # aws-resource-require-tags reports a missing tag
    expected = settings["environment"] or stack_of(args.urn)
    if expected and value != expected:
        report(f"Environment tag is {value!r}; expected {expected!r} (the stack's environment)")


environment_tag_matches_stack = resource_policy(
    name="aws-resource-environment-tag-matches-stack",
    description="The Environment tag names the stack's environment.",
    severity=Severity.MEDIUM,
    remediation="Set the stack's glue-lakehouse:environment to its environment; it becomes the Environment tag.",
    types=sorted(taggable_types()),
    check=_check_environment,
    config={
        "environment": {
            "type": "string",
            "default": "",
            "description": "Expected Environment tag value; empty = the stack name from the resource URN.",
        },
    },
    tags=["tagging"],
)

POLICIES = [require_tags, environment_tag_matches_stack]
