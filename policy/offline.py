"""Run the policy pack without the Pulumi CLI.

    python -m policy.offline --stack prod                  # the program under the SDK's mocks
    python -m policy.offline --state export.json           # `pulumi stack export` of real state
    python -m policy.offline --state export.json --stack prod --config policy/config.prod.json

The pack runs as the Pulumi CLI runs it: its own process (`python -u -m pulumi.policy <engine
address> policy/`, which builds the PolicyPack of policy/__main__.py and serves the analyzer gRPC
protocol), spoken to with the messages the engine sends (the pulumi SDK's analyzer_pb2):
GetAnalyzerInfo, Configure with each policy's enforcement level and config (the
`--policy-pack-config` JSON, validated against each policy's schema, with the schema defaults
filled in, as the engine does), Analyze with each resource's inputs, AnalyzeStack with every
resource's state, parent and (property) dependencies. Only the pack's own server runs policies.
A process keeps one server and its Analyze answers per configuration (PackServer.analyze).
Exit status: 0 clean or advisory only, 1 a mandatory violation, 2 bad input (stack, config, state).
"""

from __future__ import annotations

import argparse
import atexit
import json
import select
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from pulumi_policy import EnforcementLevel, Policy, ResourceValidationPolicy, StackValidationPolicy

from policy.lakehouse_policies import DEFAULT_ENFORCEMENT, all_policies
from policy.lakehouse_policies._common import stack_of

POLICY_DIR = Path(__file__).resolve().parent
LEVELS = {level.value: level for level in EnforcementLevel}
# The property-value encoding the engine uses (and a state export holds): an unknown value, and a
# secret ({SECRET_SIG_KEY: SECRET_SIG, "value": ...}; no "value" in an export without --show-secrets).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


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
        if value.get(SECRET_SIG_KEY) == SECRET_SIG and "value" not in value:
            return UNKNOWN
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
            if values:  # no values, nothing to check: the schema requires none (checking costs 0.7 ms a policy)
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


class PackServer:
    """The pack's analyzer process and a gRPC client speaking to it as the engine does.

    Started as the CLI's python policy shim starts a pack: `python -u -m pulumi.policy <engine
    address> <pack dir>`; the pack prints its port. No engine listens here: the pack is given an
    address nothing serves, which it needs only for log messages the offline run does not read.
    """

    def __init__(self, pack_dir: Path = POLICY_DIR, python: str = sys.executable):
        import grpc
        from google.protobuf import empty_pb2
        from pulumi.runtime.proto import analyzer_pb2_grpc

        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen([python, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(pack_dir)],
                                      cwd=pack_dir, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        try:
            ready, _, _ = select.select([self._proc.stdout], [], [], 120)
            line = self._proc.stdout.readline().strip() if ready else ""
            if not line.isdigit():
                raise OfflineError(f"the policy pack did not start (no port on stdout): {self._tail()}")
            self._channel = grpc.insecure_channel(f"127.0.0.1:{line}", options=[
                ("grpc.max_receive_message_length", 256 << 20), ("grpc.max_send_message_length", 256 << 20)])
            grpc.channel_ready_future(self._channel).result(timeout=60)
            self.stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
            info = self.stub.GetAnalyzerInfo(empty_pb2.Empty())
        except BaseException:
            self.close()
            raise
        self.name = info.name
        self.policy_names = [p.name for p in info.policies]
        self._configuration = b""
        self._answers: dict[tuple[bytes, bytes], Any] = {}

    # Analyze answers by (configuration, request): the pack's resource policies are pure functions
    # of the two, so a resource sent again under the same configuration gets the answer it got. The
    # policy tests evaluate hundreds of variants of one stack, each changing one of its ~330
    # resources; re-asking about the others was most of their time. Bounded: cleared when full.
    ANSWERS_KEPT = 20_000

    def configure(self, request) -> None:
        self.stub.Configure(request)
        self._configuration = request.SerializeToString(deterministic=True)

    def analyze(self, request):
        key = (self._configuration, request.SerializeToString(deterministic=True))
        answer = self._answers.get(key)
        if answer is None:
            if len(self._answers) >= self.ANSWERS_KEPT:
                self._answers.clear()
            answer = self._answers[key] = self.stub.Analyze(request)
        return answer

    def _tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:]

    def close(self) -> None:
        channel = getattr(self, "_channel", None)
        if channel is not None:
            channel.close()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._stderr.close()


_SERVER: PackServer | None = None
_SERVER_LOCK = threading.Lock()  # one Configure + Analyze sequence at a time: the server holds the config


def _pack_server() -> PackServer:
    """The pack's server, started on first use and stopped when the process exits."""
    global _SERVER
    if _SERVER is None or _SERVER._proc.poll() is not None:
        _SERVER = PackServer()
        atexit.register(_SERVER.close)
    return _SERVER


def _struct(values: Mapping[str, Any]):
    from google.protobuf import struct_pb2

    s = struct_pb2.Struct()
    s.update(json.loads(json.dumps(dict(values), default=str)))
    return s


def _analyzer_resource(cls, r: Resource, props: Mapping[str, Any], **extra):
    from pulumi.runtime.proto import analyzer_pb2 as proto

    return cls(type=r.type, properties=_struct(props), urn=r.urn, name=r.name,
               options=proto.AnalyzerResourceOptions(parent=r.parent or ""), **extra)


_CANNOT_RUN = "can't run policy "
_DURING_PREVIEW = " during preview: "


def _not_evaluated(message: str, r: Resource | None) -> str:
    """The reason of the pack's "can't run policy ... during preview: <reason>" diagnostic."""
    reason = message.partition(_DURING_PREVIEW)[2].strip() or message.strip()
    path = reason.partition(" value at .")[2].partition(" can't be known")[0]
    if r is not None and path and path.split(".")[0] in r.secret_keys:
        return (f"not evaluated: {path} is a secret in the state file; export with "
                "`pulumi stack export --show-secrets` to check it")
    return f"not evaluated: {reason}"


def evaluate(resources: Sequence[Resource], pack_config: Mapping[str, Any] | None,
             policies: Sequence[Policy] | None = None) -> list[Violation]:
    """Every violation (and unevaluable policy, as advisory) of `policies` (default: the whole
    pack) on `resources`, as the pack's own analyzer server reports them."""
    from pulumi.runtime.proto import analyzer_pb2 as proto

    configured = {c.policy.name: c for c in configure(list(policies if policies is not None else all_policies()),
                                                      pack_config)}
    order = {name: i for i, name in enumerate(configured)}
    by_urn = {r.urn: r for r in resources}
    index = {r.urn: i for i, r in enumerate(resources)}
    to_level = {proto.ADVISORY: "advisory", proto.MANDATORY: "mandatory", proto.REMEDIATE: "mandatory",
                proto.DISABLED: "disabled"}
    found: list[tuple[tuple[int, int], Violation]] = []

    def collect(diagnostics, r: Resource | None) -> None:
        for d in diagnostics:
            c = configured.get(d.policyName)
            if c is None:
                continue  # not asked for: disabled in the server, never reported
            target = r if r is not None else by_urn.get(d.urn) if d.urn else None
            if d.message.startswith(_CANNOT_RUN):
                level, message = "advisory", _not_evaluated(d.message, r)
            else:
                level, message = to_level[d.enforcementLevel], d.message.partition("\n")[2]
            second = index[r.urn] if r is not None else len(found)
            found.append(((order[c.policy.name], second), Violation(
                policy=c.policy.name, level=level, severity=c.policy.severity.value if c.policy.severity else "",
                urn=target.urn if target else "", resource_type=target.type if target else "",
                resource_name=target.name if target else "", message=message)))

    with _SERVER_LOCK:
        server = _pack_server()
        unknown = sorted(set(configured) - set(server.policy_names))
        if unknown:
            raise OfflineError(f"policies not in the pack {server.name}: {unknown}")
        server.configure(proto.ConfigureAnalyzerRequest(policyConfig={
            name: proto.PolicyConfig(enforcementLevel=getattr(proto, c.level.value.upper()),
                                     properties=_struct(c.config))
            if (c := configured.get(name)) else proto.PolicyConfig(enforcementLevel=proto.DISABLED)
            for name in server.policy_names}))
        active = [c for c in configured.values() if c.level != EnforcementLevel.DISABLED]
        if any(isinstance(c.policy, ResourceValidationPolicy) for c in active):
            for r in resources:
                if not r.type.startswith("pulumi:"):  # stack and provider resources carry no AWS settings
                    collect(server.analyze(_analyzer_resource(proto.AnalyzeRequest, r, r.inputs)).diagnostics, r)
        if any(isinstance(c.policy, StackValidationPolicy) for c in active):
            request = proto.AnalyzeStackRequest(resources=[_analyzer_resource(
                proto.AnalyzerResource, r, r.stack_props, parent=r.parent or "", dependencies=r.dependencies,
                propertyDependencies={k: proto.AnalyzerPropertyDependencies(urns=v)
                                      for k, v in r.property_dependencies.items()})
                for r in resources])
            collect(server.stub.AnalyzeStack(request).diagnostics, None)
    return [v for _, v in sorted(found, key=lambda item: item[0])]


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


def _program(stack: str) -> list[Any]:
    """What the program registers for `stack` under the SDK's mocks; OfflineError for a stack
    without a Pulumi.<stack>.yaml or with a configuration the program refuses."""
    import pulumi

    from lakehouse.model.errors import ConfigError
    from lakehouse.offline import evaluate_stack

    try:
        return evaluate_stack(stack)
    except ConfigError as e:
        raise OfflineError(f"stack {stack}: {e}") from None
    except (pulumi.ConfigMissingError, pulumi.ConfigTypeError) as e:
        raise OfflineError(f"stack {stack}: Pulumi.{stack}.yaml: {e}") from None


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
            stack = ns.stack
            resources = resources_from_program(_program(stack))
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
