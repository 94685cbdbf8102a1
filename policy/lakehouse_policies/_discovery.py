"""How the pack finds its policies: every package under lakehouse_policies is a service, every
module of a service package not starting with `_` is one policy and defines `POLICY`.

Adding a policy is adding a file (`<service>/<what_it_checks>.py` with `POLICY = resource_policy(...)`
or `stack_policy(...)`); adding a service is adding a package whose `__init__.py` calls `discover`.
Nothing else lists them. Order: services, then modules, sorted by name.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Iterable

from pulumi_policy import Policy


def _names(path: Iterable[str], packages: bool) -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(list(path))
                  if m.ispkg == packages and not m.name.startswith("_"))


def discover(package: str, path: Iterable[str]) -> tuple[tuple[ModuleType, ...], tuple[Policy, ...]]:
    """The policy modules of a service package (`__name__`, `__path__`) and their POLICY objects."""
    modules = tuple(importlib.import_module(f"{package}.{name}") for name in _names(path, packages=False))
    for module in modules:
        if not isinstance(getattr(module, "POLICY", None), Policy):
            raise TypeError(f"{module.__name__} defines no POLICY = resource_policy(...) or stack_policy(...); "
                            "helpers shared by a service's policies go in a module whose name starts with '_'")
    return modules, tuple(module.POLICY for module in modules)


def services(package: str, path: Iterable[str]) -> tuple[ModuleType, ...]:
    """The service packages of the pack (`__name__`, `__path__` of lakehouse_policies)."""
    return tuple(importlib.import_module(f"{package}.{name}") for name in _names(path, packages=True))
