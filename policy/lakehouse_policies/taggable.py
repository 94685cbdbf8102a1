"""Which AWS resource types accept a `tags` map, from the installed pulumi-aws SDK.

The tagging policies only see resource inputs, so a resource that supports tags but was
given none simply has no `tags` key: the policy needs to know the type is taggable. The
list is generated from pulumi-aws (every resource class whose constructor takes a
`tags: Mapping[str, str]`) into taggable_types.json, so the pack itself never imports the
~1,500-module provider SDK. `python -m policy.lakehouse_policies.taggable` regenerates it;
a test fails when it is stale for the pinned pulumi-aws.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).with_name("taggable_types.json")

_TOKEN_RE = re.compile(r"super\(\w+, __self__\).__init__\(\s*'(aws:[^']+)'")
_TAGS_ARG_RE = re.compile(r"^\s+tags: pulumi\.Input\[Optional\[Mapping\[str,", re.MULTILINE)


def scan_pulumi_aws() -> list[str]:
    """Resource type tokens of the installed pulumi-aws whose inputs include a tags map."""
    import pulumi_aws  # only for regeneration and its test: heavy, never imported by the pack

    root = Path(pulumi_aws.__file__).parent
    found: set[str] = set()
    for path in root.rglob("*.py"):
        if path.name.startswith("_"):
            continue
        src = path.read_text(encoding="utf-8")
        tokens = _TOKEN_RE.findall(src)
        if tokens and _TAGS_ARG_RE.search(src):
            found.update(tokens)
    return sorted(found)


@lru_cache(maxsize=1)
def taggable_types() -> frozenset[str]:
    return frozenset(json.loads(DATA_FILE.read_text(encoding="utf-8"))["types"])


def is_taggable(resource_type: str) -> bool:
    return resource_type in taggable_types()


if __name__ == "__main__":
    from importlib.metadata import version

    import pulumi_aws  # noqa: F401

    types = scan_pulumi_aws()
    DATA_FILE.write_text(json.dumps({"pulumi-aws": version("pulumi-aws"), "types": types}, indent=1) + "\n")
    print(f"{len(types)} taggable resource types written to {DATA_FILE}")
