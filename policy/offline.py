"""Run the policy pack without the Pulumi CLI.

    python -m policy.offline --stack prod                  # the program under the SDK's mocks
    python -m policy.offline --state export.json           # `pulumi stack export` of real state
    python -m policy.offline --state export.json --stack prod --config policy/config.prod.json

The policies are the pack's own Policy objects, called through pulumi-policy's own argument
types (ResourceValidationArgs, StackValidationArgs, PolicyResource, PolicyResourceOptions),
with what the engine would add: schema defaults in each policy's config, enforcement levels
from the `--policy-pack-config` JSON, resource inputs for resource policies and resource
state for stack policies, and properties wrapped in the SDK's unknown-checking proxies.
It never imports policy/__main__.py (constructing PolicyPack starts a server and blocks).
Exit status: 0 clean or advisory only, 1 a mandatory violation, 2 bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass, field
from inspect import isawaitable
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policy.lakehouse_policies import DEFAULT_ENFORCEMENT, all_policies
from policy.lakehouse_policies._common import stack_of

POLICY_DIR = Path(__file__).resolve().parent
LEVELS = {level.value: level for level in EnforcementLevel}


class OfflineError(ValueError):
    """Bad input to the offline check (config, state file, stack)."""


# --- resources --------------------------------------------------------------------------------

@dataclass
class Resource:
    """One registered resource, as the engine would describe it to the analyzer."""

    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]
    state: Mapping[str, Any] | None = None  # outputs when known (stack export); else inputs
    parent: str | None = None
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    custom: bool = True
    secret_keys: frozenset[str] = frozenset()  # top-level inputs that are ciphertexts in a state export

    @property
    def stack_props(self) -> Mapping[str, Any]:
        return self.state if self.state else self.inputs


def _name_from_urn(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _hide_ciphertexts(value: Any) -> Any:
    """Secrets in a state export without --show-secrets are ciphertexts: make them unknown
    (the SDK raises UnknownValueError on access, like a value not known during preview)."""
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG_KEY) == SPECIAL_SECRET_SIG and "value" not in value:
            return UNKNOWN_STRING_VALUE
        return {k: _hide_ciphertexts(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide_ciphertexts(v) for v in value]
    return value


def _secret_keys(values: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(k for k, v in values.items() if _hide_ciphertexts(v) != v)


def resources_from_export(export: Mapping[str, Any]) -> list[Resource]:
    """Resources of a `pulumi stack export` document (version 3 deployments)."""
    deployment = export.get("deployment") if isinstance(export, Mapping) else None
    if not isinstance(deployment, Mapping) or not isinstance(deployment.get("resources", []), list):
        raise OfflineError("state file: expected a `pulumi stack export` document with deployment.resources")
    out = []
    for i, r in enumerate(deployment.get("resources") or []):
        if not isinstance(r, Mapping) or "urn" not in r or "type" not in r:
            raise OfflineError(f"state file: deployment.resources[{i}] has no urn/type")
        if r.get("delete"):
            continue  # pending deletion: not part of the stack any more
        out.append(Resource(
            type=r["type"],
            name=_name_from_urn(r["urn"]),
            urn=r["urn"],
            inputs=_hide_ciphertexts(dict(r.get("inputs") or {})),
            state=_hide_ciphertexts(dict(r.get("outputs") or {})),
            parent=r.get("parent"),
            dependencies=list(r.get("dependencies") or []),
            property_dependencies={k: list(v) for k, v in (r.get("propertyDependencies") or {}).items()},
            custom=bool(r.get("custom", False)),
            secret_keys=_secret_keys(dict(r.get("inputs") or {})) | _secret_keys(dict(r.get("outputs") or {})),
        ))
    return out


def _field(obj: Any, *names: str, default: Any = None) -> Any:
    for n in names:
        if isinstance(obj, Mapping) and n in obj:
            return obj[n]
        if not isinstance(obj, Mapping) and hasattr(obj, n):
            return getattr(obj, n)
    return default


def resources_from_program(registered: Iterable[Any]) -> list[Resource]:
    """Adapt lakehouse.offline.evaluate_stack's registered resources."""
    out = []
    for r in registered:
        urn = _field(r, "urn")
        rtype = _field(r, "type", "type_", "typ", "t")
        inputs = _field(r, "inputs", "props", default={}) or {}
        outputs = _field(r, "outputs", "state", default=None)
        parent = _field(r, "parent")
        deps = _field(r, "dependencies", default=[]) or []
        pdeps = _field(r, "property_dependencies", "propertyDependencies", default={}) or {}
        out.append(Resource(
            type=rtype,
            name=_field(r, "name", default=None) or _name_from_urn(urn),
            urn=urn,
            inputs=dict(inputs),
            state={**dict(inputs), **dict(outputs)} if outputs else None,
            parent=_urn_of(parent),
            dependencies=[_urn_of(d) for d in deps if _urn_of(d)],
            property_dependencies={k: [_urn_of(d) for d in v if _urn_of(d)] for k, v in dict(pdeps).items()},
            custom=bool(_field(r, "custom", default=True)),
        ))
    return out


def _urn_of(ref: Any) -> str | None:
    if ref is None or isinstance(ref, str):
        return ref
    return _field(ref, "urn")


# --- configuration ------------------------------------------------------------------------

@dataclass(frozen=True)
class Configured:
    policy: Policy
    level: EnforcementLevel
    config: Mapping[str, Any]


def _level(value: Any, where: str) -> EnforcementLevel:
    if value not in LEVELS:
        raise OfflineError(f"{where}: got {value!r}; allowed: {' | '.join(LEVELS)}")
    return LEVELS[value]


def configure(policies: Sequence[Policy], pack_config: Mapping[str, Any] | None) -> list[Configured]:
    """Enforcement level and config of each policy, as the engine derives them from a
    `--policy-pack-config` JSON: the policy's entry, else "all", else the policy's own level."""
    import jsonschema

    pack_config = dict(pack_config or {})
    by_name = {p.name: p for p in policies}
    unknown = sorted(set(pack_config) - set(by_name) - {"all"})
    if unknown:
        raise OfflineError(f"policy config: unknown policies {unknown}; allowed: all | {' | '.join(sorted(by_name))}")
    default = _level(pack_config["all"], "policy config 'all'") if "all" in pack_config else None
    out = []
    for p in policies:
        entry = pack_config.get(p.name)
        level = default or p.enforcement_level or DEFAULT_ENFORCEMENT
        values: dict[str, Any] = {}
        if isinstance(entry, str):
            level = _level(entry, f"policy config '{p.name}'")
        elif isinstance(entry, Mapping):
            if "enforcementLevel" in entry:
                level = _level(entry["enforcementLevel"], f"policy config '{p.name}'.enforcementLevel")
            values = {k: v for k, v in entry.items() if k != "enforcementLevel"}
        elif entry is not None:
            raise OfflineError(f"policy config '{p.name}': got {entry!r}; allowed: a level or an object")
        properties = p.config_schema.properties if p.config_schema else {}
        extra = sorted(set(values) - set(properties))
        if extra:
            raise OfflineError(f"policy config '{p.name}': unknown keys {extra}; allowed: {sorted(properties)}")
        schema = {"type": "object", "properties": properties}
        try:
            jsonschema.validate(values, schema)
        except jsonschema.ValidationError as e:
            path = ".".join(str(x) for x in e.absolute_path)
            raise OfflineError(f"policy config '{p.name}'.{path}: got {e.instance!r}; {e.message}") from None
        # The engine fills schema defaults in: do the same, so policies see what the CLI gives them.
        config = {k: spec["default"] for k, spec in properties.items() if "default" in spec}
        config.update(values)
        out.append(Configured(p, level, config))
    return out


def load_pack_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OfflineError(f"policy config: no file {path}") from None
    except json.JSONDecodeError as e:
        raise OfflineError(f"policy config {path}: not JSON ({e})") from None
    if not isinstance(data, dict):
        raise OfflineError(f"policy config {path}: expected a JSON object")
    return data


# --- evaluation -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Violation:
    policy: str
    level: str  # mandatory | advisory | remediate
    severity: str
    urn: str
    resource_type: str
    resource_name: str
    message: str


def _opts(r: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False, ignore_changes=[], delete_before_replace=None, aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[], parent=r.parent)


def _props(values: Mapping[str, Any]) -> Mapping[str, Any]:
    return unknown_checking_proxy(deserialize_properties(json.loads(json.dumps(values, default=str))))


def _run(validate, args, report, secrets: frozenset[str] = frozenset()) -> str | None:
    """Call a validation like the engine does; the reason when it could not run."""
    try:
        result = validate(args, report)
        if isawaitable(result):
            asyncio.run(result)
    except UnknownValueError as e:
        if e.props and e.props[0] in secrets:
            return (f"{'.'.join(e.props)} is a secret in the state file; export with "
                    "`pulumi stack export --show-secrets` to check it")
        return e.message
    except _NotApplicableError:
        return None
    return None


def evaluate(resources: Sequence[Resource], pack_config: Mapping[str, Any] | None,
             policies: Sequence[Policy] | None = None) -> list[Violation]:
    """Every violation (and unevaluable policy, as advisory) of `policies` on `resources`."""
    configured = configure(list(policies if policies is not None else all_policies()), pack_config)
    by_urn = {r.urn: r for r in resources}
    out: list[Violation] = []

    def emit(c: Configured, r: Resource | None, message: str, level: EnforcementLevel | None = None) -> None:
        lvl = level or c.level
        if lvl == EnforcementLevel.REMEDIATE:
            lvl = EnforcementLevel.MANDATORY  # a violation left after remediation blocks, like the engine
        out.append(Violation(
            policy=c.policy.name, level=lvl.value,
            severity=c.policy.severity.value if c.policy.severity else "",
            urn=r.urn if r else "", resource_type=r.type if r else "", resource_name=r.name if r else "",
            message=message))

    active = [c for c in configured if c.level != EnforcementLevel.DISABLED]
    inputs = {r.urn: _props(r.inputs) for r in resources}  # read-only proxies, shared by the policies
    for c in active:
        if isinstance(c.policy, ResourceValidationPolicy):
            for r in resources:
                if r.type.startswith("pulumi:"):
                    continue  # stack and provider resources carry no AWS settings
                args = ResourceValidationArgs(r.type, inputs[r.urn], r.urn, r.name, _opts(r), None,
                                              dict(c.config), {})
                reason = _run(c.policy.validate, args, lambda msg, urn=None, c=c, r=r: emit(c, r, msg), r.secret_keys)
                if reason:
                    emit(c, r, f"not evaluated: {reason}", EnforcementLevel.ADVISORY)
        elif isinstance(c.policy, StackValidationPolicy):
            policy_resources = {r.urn: PolicyResource(r.type, _props(r.stack_props), r.urn, r.name, _opts(r), None,
                                                      None, [], {}) for r in resources}
            for r in resources:
                pr = policy_resources[r.urn]
                pr.parent = policy_resources.get(r.parent) if r.parent else None
                pr.dependencies = [policy_resources[d] for d in r.dependencies if d in policy_resources]
                pr.property_dependencies = {k: [policy_resources[d] for d in v if d in policy_resources]
                                            for k, v in r.property_dependencies.items()}
            args = StackValidationArgs(list(policy_resources.values()), dict(c.config), {})
            reason = _run(c.policy.validate, args,
                          lambda msg, urn=None, c=c: emit(c, by_urn.get(urn) if urn else None, msg))
            if reason:
                emit(c, None, f"not evaluated: {reason}", EnforcementLevel.ADVISORY)
    return out


def mandatory(violations: Iterable[Violation]) -> list[Violation]:
    return [v for v in violations if v.level == EnforcementLevel.MANDATORY.value]


# --- command line -------------------------------------------------------------------------

def render(violations: Sequence[Violation], title: str, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=max(console.width, 180))  # CI logs: one line per violation
    if not violations:
        console.print(f"[green]{title}: no policy violations[/green]")
        return
    table = Table(title=title, show_lines=False, expand=False)
    for col in ("Level", "Severity", "Policy", "Resource", "Message"):
        table.add_column(col, overflow="fold")
    order = {"mandatory": 0, "advisory": 1}
    for v in sorted(violations, key=lambda v: (order.get(v.level, 2), v.policy, v.urn)):
        style = "red" if v.level == "mandatory" else "yellow"
        where = f"{v.resource_type.split(':')[-1]} {v.resource_name}" if v.urn else "(stack)"
        table.add_row(f"[{style}]{v.level}[/{style}]", v.severity, v.policy, where, v.message)
    console.print(table)
    n_m = len(mandatory(violations))
    console.print(f"{n_m} mandatory, {len(violations) - n_m} advisory")


def _stack_from_resources(resources: Sequence[Resource]) -> str:
    stacks = {stack_of(r.urn) for r in resources} - {""}
    if len(stacks) != 1:
        raise OfflineError(f"state file: cannot tell the stack from the URNs (found {sorted(stacks)}); pass --stack")
    return stacks.pop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policy.offline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", help="stack name (dev, prod ...): evaluate its program under mocks, "
                                        "or name the stack of --state")
    parser.add_argument("--state", type=Path, help="a `pulumi stack export` JSON file to check instead")
    parser.add_argument("--config", type=Path, help="policy pack config JSON (default policy/config.<stack>.json)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    ns = parser.parse_args(argv)
    if not ns.stack and not ns.state:
        parser.error("give --stack, --state, or both")
    try:
        if ns.state:
            try:
                export = json.loads(ns.state.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as e:
                raise OfflineError(f"state file {ns.state}: {e}") from None
            resources = resources_from_export(export)
            stack = ns.stack or _stack_from_resources(resources)
            source = f"state {ns.state}"
        else:
            from lakehouse.offline import evaluate_stack  # the program under the SDK's mocks

            stack = ns.stack
            resources = resources_from_program(evaluate_stack(stack))
            source = f"program, stack {stack} (mocks)"
        config_path = ns.config or POLICY_DIR / f"config.{stack}.json"
        violations = evaluate(resources, load_pack_config(config_path))
    except OfflineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if ns.format == "json":
        print(json.dumps([v.__dict__ for v in violations], indent=2))
    else:
        render(violations, f"{len(resources)} resources from {source}, config {config_path.name}")
    return 1 if mandatory(violations) else 0


if __name__ == "__main__":
    sys.exit(main())
