"""The stack's standard tags on every taggable resource, visible in its inputs.

Provider default tags are applied by the provider, after policies have looked at the
inputs; the policy pack checks inputs, so the program also adds the tags to each resource
with a stack transform (registered in __main__). Which resource types take a `tags` input
is read from the installed pulumi-aws classes, not from a hand-kept list.
"""

from __future__ import annotations

import importlib
import inspect
import keyword
from functools import lru_cache
from typing import Any, Callable, Mapping, Optional

import pulumi


@lru_cache(maxsize=None)
def is_taggable(resource_type: str) -> bool:
    """True for pulumi-aws resource types whose constructor accepts `tags`."""
    parts = resource_type.split(":")
    if len(parts) != 3 or parts[0] != "aws":
        return False
    module, class_name = parts[1].partition("/")[0], parts[2]
    if keyword.iskeyword(module):
        module += "_"  # aws:lambda/... lives in pulumi_aws.lambda_
    try:
        mod = importlib.import_module("pulumi_aws" if module == "index" else f"pulumi_aws.{module}")
    except ImportError:
        return False
    cls = getattr(mod, class_name, None)
    init = getattr(cls, "_internal_init", None)
    return init is not None and "tags" in inspect.signature(init).parameters


def with_tags(props: Mapping[str, Any], tags: Mapping[str, str]) -> dict[str, Any]:
    """The resource's own tags plus the standard ones; the standard ones win on a clash,
    so Environment, Owner, CostCenter ... always say what the stack config says."""
    return {**props, "tags": {**dict(props.get("tags") or {}), **dict(tags)}}


def standard_tags_transform(
    tags: Mapping[str, str],
) -> Callable[[pulumi.ResourceTransformArgs], Optional[pulumi.ResourceTransformResult]]:
    """A resource transform adding `tags` to every taggable custom resource."""
    frozen = dict(tags)

    def transform(args: pulumi.ResourceTransformArgs) -> Optional[pulumi.ResourceTransformResult]:
        if not args.custom or not is_taggable(args.type_):
            return None
        return pulumi.ResourceTransformResult(props=with_tags(args.props, frozen), opts=args.opts)

    return transform
