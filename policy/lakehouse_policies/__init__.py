"""The glue-lakehouse policy pack's policies, grouped by concern.

Importable without starting anything: policy/__main__.py builds the PolicyPack from
`all_policies()` for the Pulumi CLI; policy/offline.py and the tests run the same
Policy objects through the SDK's own argument types.
"""

from __future__ import annotations

from pulumi_policy import Policy

from . import encryption, exposure, iam, network, operations, tagging
from ._common import DEFAULT_ENFORCEMENT

PACK_NAME = "glue-lakehouse-policies"
PACK_DESCRIPTION = ("Encryption, tagging, least privilege, exposure and cost guardrails for the "
                    "glue-lakehouse Pulumi program")
MODULES = (encryption, tagging, iam, exposure, operations, network)


def all_policies() -> list[Policy]:
    return [p for module in MODULES for p in module.POLICIES]


def policies_by_name() -> dict[str, Policy]:
    return {p.name: p for p in all_policies()}


__all__ = ["PACK_NAME", "PACK_DESCRIPTION", "DEFAULT_ENFORCEMENT", "all_policies", "policies_by_name"]
