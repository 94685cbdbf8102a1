"""The glue-lakehouse policy pack's policies, one file per policy, grouped by AWS service.

`<service>/<policy>.py` defines `POLICY` (resource_policy / stack_policy of `_common.py`: name,
description, severity, remediation, config schema, the frameworks it serves); each service package
discovers its files and this package its service packages (`_discovery.py`), so adding a policy is
adding a file. `tagging/` holds the cross-service tag policies.

Importable without starting anything: policy/__main__.py builds the PolicyPack from
`all_policies()` for the Pulumi CLI; policy/offline.py, policy/docs.py and the tests run the same
Policy objects through the SDK's own argument types.
"""

from __future__ import annotations

from types import ModuleType

from pulumi_policy import Policy

from ._common import DEFAULT_ENFORCEMENT, frameworks_of
from ._discovery import services

PACK_NAME = "glue-lakehouse-policies"
PACK_DESCRIPTION = ("Encryption, tagging, least privilege, exposure and cost guardrails for the "
                    "glue-lakehouse Pulumi program")
SERVICES: tuple[ModuleType, ...] = services(__name__, __path__)


def service_of(module: ModuleType) -> str:
    """The service package of a policy module: "s3" for lakehouse_policies.s3.bucket_...."""
    return module.__name__.rsplit(".", 2)[-2]


def policy_modules() -> list[ModuleType]:
    """Every policy module (each defines POLICY), by service, then by module name."""
    return [module for service in SERVICES for module in service.MODULES]


def all_policies() -> list[Policy]:
    return [module.POLICY for module in policy_modules()]


def policies_by_name() -> dict[str, Policy]:
    return {p.name: p for p in all_policies()}


def _check_unique_names() -> None:
    seen: dict[str, str] = {}
    for module in policy_modules():
        name = module.POLICY.name
        if name in seen:
            raise ValueError(f"policy {name} is defined by both {seen[name]} and {module.__name__}")
        seen[name] = module.__name__


_check_unique_names()

__all__ = ["PACK_NAME", "PACK_DESCRIPTION", "DEFAULT_ENFORCEMENT", "SERVICES", "all_policies", "frameworks_of",
           "policies_by_name", "policy_modules", "service_of"]
