"""Run Pulumi code offline, under the SDK's mocks: the project's one harness for that.

No Pulumi CLI, provider plugin or AWS account: the SDK's mock monitor stands in for the engine.
`evaluate_stack("prod")` runs __main__.py with Pulumi.prod.yaml as config (the tests and
`python -m policy.offline` use it); `run_program(build)` runs any callable creating resources, a
component in a test, and resolves the outputs it returns. Both return a StackEvaluation: every
registered resource (inputs after transforms, secret inputs, mocked outputs, parent, dependencies)
and the outputs. Each call is a fresh stack; call it as often as needed in one process.

The mocks (LakehouseMocks) stay close to a real `pulumi up` with known values: resource and stack
transforms run like the engine runs them; outputs are the inputs plus realistic ids and ARNs
(account 123456789012, the stack's region); apply callbacks run; provider functions answer only
getCallerIdentity, getPartition, getRegion, getAvailabilityZones and the `invokes` given, and any
other call fails loudly ("Mock call not implemented: <token>").
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import threading
import uuid
from dataclasses import dataclass, field
from inspect import isawaitable
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping, Optional

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from .model.config import PROJECT, REPO_ROOT, stack_file_values

MAIN = REPO_ROOT / "__main__.py"
ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

Invoke = Callable[[dict], dict]  # a provider function's mock: the call's arguments -> its result
Program = Callable[[], Any]  # creates resources; may return a mapping of outputs to resolve

# type -> (service, resource part of the ARN with {name}/{id}, regional)
ARN_FORMATS: dict[str, tuple[str, str, bool]] = {
    "aws:kms/key:Key": ("kms", "key/{id}", True),
    "aws:kms/alias:Alias": ("kms", "{name}", True),
    "aws:iam/role:Role": ("iam", "role/{name}", False),
    "aws:sns/topic:Topic": ("sns", "{name}", True),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "log-group:{name}", True),
    "aws:cloudwatch/eventRule:EventRule": ("events", "rule/{name}", True),
    "aws:glue/job:Job": ("glue", "job/{name}", True),
    "aws:glue/catalogDatabase:CatalogDatabase": ("glue", "database/{name}", True),
    "aws:glue/workflow:Workflow": ("glue", "workflow/{name}", True),
    "aws:glue/trigger:Trigger": ("glue", "trigger/{name}", True),
    "aws:glue/connection:Connection": ("glue", "connection/{name}", True),
    "aws:glue/crawler:Crawler": ("glue", "crawler/{name}", True),
    "aws:sfn/stateMachine:StateMachine": ("states", "stateMachine:{name}", True),
    "aws:rds/instance:Instance": ("rds", "db:{name}", True),
    "aws:secretsmanager/secret:Secret": ("secretsmanager", "secret:{name}-AbCdEf", True),
}

# types whose id is their physical name, as in AWS
NAMED_BY_ID = frozenset({
    "aws:iam/role:Role", "aws:cloudwatch/logGroup:LogGroup", "aws:glue/job:Job",
    "aws:glue/catalogDatabase:CatalogDatabase", "aws:cloudwatch/eventRule:EventRule",
    "aws:glue/securityConfiguration:SecurityConfiguration", "aws:glue/workflow:Workflow",
    "aws:glue/trigger:Trigger", "aws:glue/connection:Connection", "aws:glue/crawler:Crawler",
})


@dataclass
class RegisteredResource:
    """One resource as the engine saw it register."""

    type: str
    name: str  # logical name
    urn: str
    id: str
    custom: bool
    inputs: dict[str, Any]  # camelCase wire names, after transforms, secrets unwrapped
    outputs: dict[str, Any]  # what the mocks returned
    parent: str  # parent URN
    dependencies: list[str] = field(default_factory=list)  # every URN the resource waits for
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)  # input -> URNs it came from
    provider: str = ""
    protect: bool = False
    secret_inputs: frozenset[str] = frozenset()  # top-level inputs the engine received as secrets

    @property
    def props(self) -> dict[str, Any]:
        return self.inputs

    @property
    def explicit_dependencies(self) -> set[str]:
        """URNs waited for through `depends_on`, not implied by an input."""
        implied = {urn for urns in self.property_dependencies.values() for urn in urns}
        return set(self.dependencies) - implied


class StackEvaluation(list):
    """The registered resources (a list of RegisteredResource) and the resolved outputs."""

    def __init__(self, resources: list[RegisteredResource], outputs: dict[str, Any], stack: str):
        super().__init__(resources)
        self.outputs = outputs
        self.stack = stack

    def of_type(self, type_: str) -> list[RegisteredResource]:
        return [r for r in self if r.type == type_]

    def get(self, type_: str, name: str) -> RegisteredResource:
        for r in self:
            if r.type == type_ and r.name == name:
                return r
        raise KeyError(f"no {type_} named {name!r}; have {sorted(r.name for r in self.of_type(type_))}")

    def one(self, type_: str) -> RegisteredResource:
        """The only resource of a type; LookupError when there are none or several."""
        found = self.of_type(type_)
        if len(found) != 1:
            raise LookupError(f"expected one {type_}, got {sorted(r.name for r in found)}")
        return found[0]

    def urn(self, type_: str, name: str) -> str:
        return self.get(type_, name).urn

    def by_urn(self, urn: str) -> RegisteredResource:
        for r in self:
            if r.urn == urn:
                return r
        raise KeyError(f"no resource with URN {urn}")

    def children(self, parent: RegisteredResource) -> list[RegisteredResource]:
        return [r for r in self if r.parent == parent.urn]


class LakehouseMocks(pulumi.runtime.Mocks):
    """Outputs = inputs + realistic ids/ARNs; provider calls answered for one account and region.

    invokes: more provider functions (or other answers for the standard ones), by token.
    Records the (type, name) of every new resource in `created` and every call's token in `calls`.
    """

    def __init__(self, account_id: str = ACCOUNT, region: str = DEFAULT_REGION, partition: str = "aws",
                 invokes: Optional[Mapping[str, Invoke]] = None):
        self.account_id, self.region, self.partition = account_id, region, partition
        self.invokes: dict[str, Invoke] = {**self.standard_invokes(), **dict(invokes or {})}
        self.created: list[tuple[str, str]] = []  # (type, name) of every new_resource call
        self.calls: list[str] = []
        self.stack_transforms: list[Callable] = []  # registered by the program, run on every registration
        self._registering = threading.local()  # transformed inputs, for the monitor on the same thread

    def standard_invokes(self) -> dict[str, Invoke]:
        p, account, region = self.partition, self.account_id, self.region
        return {
            "aws:index/getCallerIdentity:getCallerIdentity": lambda _: {
                "accountId": account, "arn": f"arn:{p}:iam::{account}:user/offline", "id": account,
                "userId": "AIDAOFFLINE"},
            "aws:index/getPartition:getPartition": lambda _: {
                "partition": p, "dnsSuffix": "amazonaws.com", "id": p, "reverseDnsPrefix": "com.amazonaws"},
            "aws:index/getRegion:getRegion": lambda _: {
                "name": region, "region": region, "id": region, "endpoint": f"ec2.{region}.amazonaws.com",
                "description": region},
            "aws:index/getAvailabilityZones:getAvailabilityZones": lambda _: {
                "names": [f"{region}{s}" for s in "abc"], "zoneIds": [f"use1-az{i}" for i in range(1, 4)],
                "id": region, "state": "available"},
        }

    def register_transform(self, transform: Callable) -> None:
        self.stack_transforms.append(transform)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.created.append((args.typ, args.name))
        inputs = dict(args.inputs)
        if args.custom is not None:  # a registration (a read has no `custom`): transforms run, as in the engine
            inputs = self._transformed(args, inputs)
            self._registering.inputs = inputs
        return self.outputs_of(args.typ, args.name, inputs)

    def _transformed(self, args: pulumi.runtime.MockResourceArgs, props: dict[str, Any]) -> dict[str, Any]:
        for transform in [*args.transforms, *self.stack_transforms]:
            result = transform(pulumi.ResourceTransformArgs(custom=bool(args.custom), type_=args.typ, name=args.name,
                                                            props=props, opts=pulumi.ResourceOptions()))
            if isawaitable(result):
                result = _wait(result)
            if result is not None:
                props = dict(result.props)
        return props

    def take_registered_inputs(self) -> dict[str, Any]:
        """The inputs, after transforms, of the registration this thread just made."""
        inputs = self._registering.inputs
        del self._registering.inputs
        return inputs

    def outputs_of(self, typ: str, logical: str, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """(id, outputs) of a resource of type `typ` and logical name `logical` given its inputs."""
        out = dict(inputs)
        name = inputs.get("name") or logical
        rid = f"{logical}-id"
        if typ == "aws:s3/bucket:Bucket":
            name = rid = inputs.get("bucket") or logical
            out.update(bucket=rid, arn=f"arn:{self.partition}:s3:::{rid}",
                       bucketRegionalDomainName=f"{rid}.s3.{self.region}.amazonaws.com")
        elif typ == "aws:kms/key:Key":
            rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.account_id}/{logical}"))
            out["keyId"] = rid
        elif typ in NAMED_BY_ID:
            rid = name
        if typ in ARN_FORMATS:
            service, resource, regional = ARN_FORMATS[typ]
            region = self.region if regional else ""
            out["arn"] = (f"arn:{self.partition}:{service}:{region}:{self.account_id}:"
                          + resource.format(name=name, id=rid))
        if typ == "aws:sns/topic:Topic":
            rid = out["arn"]
        if typ == "aws:rds/instance:Instance":  # what RDS reports once the instance exists
            address = f"{inputs.get('identifier', logical)}.abc123xyz.{self.region}.rds.amazonaws.com"
            secret = (f"arn:{self.partition}:secretsmanager:{self.region}:{self.account_id}:"
                      f"secret:rds!db-{logical}-AbCdEf")
            out.update(address=address, endpoint=f"{address}:{int(inputs.get('port', 5432))}", masterUserSecrets=[{
                "secretArn": secret, "kmsKeyId": inputs.get("masterUserSecretKmsKeyId"), "secretStatus": "active"}])
        if typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Gateway":
            out["prefixListId"] = "pl-63a5400a"
        if typ == "aws:ec2/vpc:Vpc":
            out["cidrBlock"] = inputs.get("cidrBlock")
        out.setdefault("id", rid)
        if "name" not in out and not typ.startswith("pulumi:"):
            out["name"] = name
        out.setdefault("arn", f"arn:{self.partition}:mock:{self.region}:{self.account_id}:{typ}/{logical}")
        return rid, out

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append(args.token)
        if args.token not in self.invokes:
            raise NotImplementedError(f"Mock call not implemented: {args.token}")
        return self.invokes[args.token](dict(args.args))


def _wait(awaitable: Awaitable) -> Any:
    """Await an async transform's result on a loop of its own (the monitor runs on a worker thread)."""
    async def result():
        return await awaitable

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(result())
    finally:
        loop.close()


class _RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, recording every registration as a RegisteredResource."""

    mocks: LakehouseMocks

    def __init__(self, mocks: LakehouseMocks):
        super().__init__(mocks)
        self.registrations: dict[str, RegisteredResource] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        secret: set[str] = set()
        inputs = unwrap_secrets(self.mocks.take_registered_inputs(), secret)
        self.registrations[response.urn] = RegisteredResource(
            type=request.type,
            name=request.name,
            urn=response.urn,
            id=response.id or "",
            custom=bool(request.custom),
            inputs=inputs,
            outputs=unwrap_secrets(dict(self.resources[response.urn].state)),
            parent=request.parent,
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            provider=request.provider,
            protect=bool(request.protect),
            secret_inputs=frozenset(secret),
        )
        return response


def unwrap_secrets(value: Any, secret_keys: Optional[set[str]] = None, _key: str = "") -> Any:
    """Wire values as plain Python: secrets unwrapped (the top-level keys that held one added to
    `secret_keys`), assets described by their path or text."""
    if rpc.is_rpc_secret(value):
        if secret_keys is not None and _key:
            secret_keys.add(_key)
        return unwrap_secrets(rpc.unwrap_rpc_secret(value), secret_keys, _key)
    if isinstance(value, dict):
        return {k: unwrap_secrets(v, secret_keys, _key or k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [unwrap_secrets(v, secret_keys, _key) for v in value]
    if isinstance(value, pulumi.FileAsset):
        return {"fileAsset": str(value.path)}
    if isinstance(value, pulumi.StringAsset):
        return {"stringAsset": value.text}
    return value


def pulumi_config_values(values: Mapping[str, Any]) -> dict[str, str]:
    """Stack-file values as the CLI hands them to a program: fully-qualified keys, strings
    (booleans and numbers as JSON, arrays and maps as JSON documents)."""
    out = {}
    for key, value in values.items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        out[full] = value if isinstance(value, str) else json.dumps(value)
    return out


def run_program(program: Program, *, stack: str = "dev", config_values: Optional[Mapping[str, Any]] = None,
                mocks: Optional[LakehouseMocks] = None, invokes: Optional[Mapping[str, Invoke]] = None,
                project: str = PROJECT) -> StackEvaluation:
    """Run `program` (a callable creating resources) as a stack under mocks; return what it registered.

    The outputs are the stack's exports plus the mapping `program` returns, if any (Outputs or plain
    values, resolved as if each were `pulumi.export`ed); any other return value, such as the component
    a `lambda: Component(...)` returns, is ignored. config_values: as written in a stack file
    (`aws:region`, `glue-lakehouse:key`); none by default. invokes: provider functions the default
    mocks answer besides the standard ones (or with other answers), by token. Exceptions of the
    program propagate (a ConfigError, for instance); `mocks.created` then tells what was registered.
    """
    if mocks is not None and invokes is not None:
        raise TypeError("run_program: give invokes to LakehouseMocks(invokes=...) when passing mocks")
    values = dict(config_values or {})
    mocks = mocks or LakehouseMocks(region=str(values.get("aws:region") or DEFAULT_REGION), invokes=invokes)
    mocks.stack_transforms.clear()  # those of an earlier run with the same mocks are gone with its stack
    monitor = _RecordingMonitor(mocks)
    pulumi.runtime.reset_options(project=project, stack=stack, preview=False)  # forget the last root Stack
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    config = pulumi_config_values(values)
    pulumi.runtime.set_all_config(config)
    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def run() -> pulumi.Output:
        returned = program()
        for key, value in (returned.items() if isinstance(returned, Mapping) else ()):
            pulumi.export(key, value)
        return pulumi.Output.from_input(dict(pulumi.runtime.get_root_resource().outputs)).apply(outputs.update)

    # the whole configuration also as the engine's language host hands it over (the PULUMI_CONFIG
    # bag), where the program lists its keys (pulumi.runtime.get_config_env)
    saved = os.environ.get("PULUMI_CONFIG")
    os.environ["PULUMI_CONFIG"] = json.dumps(config)
    try:
        run()
    finally:
        if saved is None:
            os.environ.pop("PULUMI_CONFIG", None)
        else:
            os.environ["PULUMI_CONFIG"] = saved
    return StackEvaluation(list(monitor.registrations.values()), unwrap_secrets(outputs), stack)


def evaluate_stack(stack: str, config_values: Optional[Mapping[str, Any]] = None, *,
                   mocks: Optional[LakehouseMocks] = None, main: Path = MAIN) -> StackEvaluation:
    """Run __main__.py for `stack` under mocks.

    config_values: the stack's config as written in a stack file (`glue-lakehouse:key` or
    `aws:region` keys, YAML-typed values); default: read Pulumi.<stack>.yaml. When given,
    they replace the file's values (start from lakehouse.model.config.stack_file_values(stack)
    to change one key).
    """
    values = stack_file_values(stack) if config_values is None else dict(config_values)

    def program() -> None:
        runpy.run_path(str(main), run_name="__main__")

    return run_program(program, stack=stack, config_values=values, mocks=mocks)
