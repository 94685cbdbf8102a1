"""`Environment` = the configured environment, else the stack name from the URN."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .._common import Settings, resource_policy, stack_of
from ..taggable import is_taggable, taggable_types
from ._shared import resource_tags


def _check_environment(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    if not is_taggable(args.resource_type):
        return
    value = resource_tags(args).get("Environment")
    if value is None or not str(value).strip():
        return  # aws-resource-require-tags reports a missing tag
    expected = settings["environment"] or stack_of(args.urn)
    if expected and value != expected:
        report(f"Environment tag is {value!r}; expected {expected!r} (the stack's environment)")


POLICY = resource_policy(
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
    frameworks=(),
    tags=["tagging"],
)
