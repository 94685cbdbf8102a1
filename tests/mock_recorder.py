"""A small Pulumi mocks harness for component tests: build resources, get back what was registered.

Records, per resource, its type, logical name, inputs as the engine sees them (camelCase wire
names), parent and dependencies (explicit `depends_on` separated from those implied by
inputs), and resolves the Outputs a test asks for. Provider calls must be listed by token;
any other call fails loudly ("Mock call not implemented: <token>").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import pulumi
from pulumi.runtime.mocks import MockMonitor

ACCOUNT = "123456789012"
REGION = "us-east-1"

SERVICE_ARNS = {  # resource type -> (service, resource kind) for mock ARNs
    "aws:glue/workflow:Workflow": ("glue", "workflow"),
    "aws:glue/trigger:Trigger": ("glue", "trigger"),
    "aws:glue/connection:Connection": ("glue", "connection"),
    "aws:iam/role:Role": ("iam", "role"),
    "aws:cloudwatch/eventRule:EventRule": ("events", "rule"),
    "aws:rds/instance:Instance": ("rds", "db"),
}


SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how the engine marks a secret value on the wire


def unwrap_secrets(value: Any, path: str = "", found: set | None = None) -> Any:
    """Replace wire-format secrets by their values; note the top-level keys that were secret."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            if found is not None:
                found.add(path.split(".")[0])
            return unwrap_secrets(value["value"], path, found)
        return {k: unwrap_secrets(v, f"{path}.{k}" if path else k, found) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v, path, found) for v in value]
    return value


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict
    secret_inputs: set = field(default_factory=set)  # input keys the engine received as secrets
    urn: str = ""
    parent: str = ""
    dependencies: set = field(default_factory=set)  # every URN the resource waits for
    property_dependencies: set = field(default_factory=set)  # URNs implied by its inputs

    @property
    def explicit_dependencies(self) -> set:
        return self.dependencies - self.property_dependencies


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, calls: Mapping[str, Callable[[dict], dict]]):
        self.calls = dict(calls)
        self.registered: dict[tuple[str, str], Registered] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        secret: set = set()
        inputs = unwrap_secrets(dict(args.inputs), found=secret)
        out = dict(inputs)
        rid = f"{args.name}-id"
        physical = inputs.get("name", args.name)
        if args.typ in SERVICE_ARNS:
            service, kind = SERVICE_ARNS[args.typ]
            region = "" if service == "iam" else REGION
            sep = ":" if service == "rds" else "/"
            out["arn"] = f"arn:aws:{service}:{region}:{ACCOUNT}:{kind}{sep}{physical}"
        else:
            out.setdefault("arn", f"arn:aws:mock:{REGION}:{ACCOUNT}:{args.typ}/{args.name}")
        if args.typ == "aws:rds/instance:Instance":
            address = f"{inputs['identifier']}.abc123.{REGION}.rds.amazonaws.com"
            out.update(address=address, endpoint=f"{address}:{int(inputs['port'])}", masterUserSecrets=[{
                "secretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-{args.name}-AbCdEf",
                "kmsKeyId": inputs.get("masterUserSecretKmsKeyId"),
                "secretStatus": "active",
            }])
        if args.typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Gateway":
            out["prefixListId"] = "pl-63a5400a"
        self.registered[(args.typ, args.name)] = Registered(args.typ, args.name, inputs, secret)
        return [rid, out]

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token not in self.calls:
            raise NotImplementedError(f"Mock call not implemented: {args.token}")
        return self.calls[args.token](dict(args.args))


class RecordingMonitor(MockMonitor):
    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        rec = self.mocks.registered.get((request.type, request.name))
        if rec is not None:
            rec.urn = response.urn
            rec.parent = request.parent
            rec.dependencies = set(request.dependencies)
            rec.property_dependencies = {u for deps in request.propertyDependencies.values() for u in deps.urns}
        return response


@dataclass
class Evaluation:
    resources: dict[tuple[str, str], Registered]  # by (type, logical name)
    outputs: dict[str, Any]

    def get(self, typ: str, name: str) -> Registered:
        if (typ, name) not in self.resources:
            raise KeyError(f"no {typ} named {name!r}; have {sorted(n for t, n in self.resources if t == typ)}")
        return self.resources[(typ, name)]

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources.values() if r.type == typ]

    def one(self, typ: str) -> Registered:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, got {[r.name for r in found]}"
        return found[0]

    def urn(self, typ: str, name: str) -> str:
        return self.get(typ, name).urn


def evaluate(build: Callable[[], Mapping[str, Any]], calls: Mapping[str, Callable[[dict], dict]] | None = None,
             stack: str = "dev") -> Evaluation:
    """Run `build()` under mocks (not preview: apply callbacks run) and resolve the Outputs it returns."""
    mocks = RecordingMocks(calls or {})
    pulumi.runtime.set_mocks(mocks, project="glue-lakehouse", stack=stack, preview=False,
                             monitor=RecordingMonitor(mocks))
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def run():
        wanted = build() or {}
        keys = list(wanted)
        return pulumi.Output.all(*[wanted[k] for k in keys]).apply(
            lambda values: resolved.update(zip(keys, values)))

    run()
    return Evaluation(resources=dict(mocks.registered), outputs=resolved)


def policy_violations(ev: Evaluation, stack: str) -> list[str]:
    """The project's resource policies run on what a test registered, with the stack's pack config.

    Stack policies judge a whole stack (e.g. catalog encryption settings made elsewhere), so a
    component alone is checked against the per-resource policies only."""
    from pulumi_policy import ResourceValidationPolicy

    from policy.lakehouse_policies import all_policies
    from policy.offline import POLICY_DIR, Resource, evaluate as evaluate_policies, load_pack_config

    resources = [Resource(type=r.type, name=r.name, urn=r.urn, inputs=r.inputs, parent=r.parent or None,
                          dependencies=sorted(r.dependencies))
                 for r in ev.resources.values()]
    config = load_pack_config(POLICY_DIR / f"config.{stack}.json")
    return [f"{v.level} {v.policy} {v.resource_name}: {v.message}" for v in evaluate_policies(
        resources, config, [p for p in all_policies() if isinstance(p, ResourceValidationPolicy)])]
