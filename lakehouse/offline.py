"""Evaluate the Pulumi program (or any Pulumi code) offline, under the SDK's mocks.

No Pulumi CLI, provider plugin or AWS account: the SDK's mock monitor stands in for the
engine. `evaluate_stack("prod")` feeds Pulumi.prod.yaml (read from the file) through the
SDK's config, runs __main__.py, and returns every resource the program registered - type,
logical name, URN, inputs as the engine receives them (after stack transforms), the mocked
outputs, parent, dependencies and options - plus the stack outputs. It can be called
repeatedly in one process, for any stack, and is what the tests and the policy pack's
offline check use.

What the mocks do, so results are close to a real `pulumi preview` with known values:
- stack transforms (pulumi.runtime.register_resource_transform) run on every registration,
  as the engine runs them; the SDK's own mock monitor only records them;
- outputs are the inputs plus realistic ids and ARNs per resource type (account
  123456789012 and the stack's region unless told otherwise);
- provider functions answer getCallerIdentity, getPartition and getRegion; any other
  call fails loudly ("Mock call not implemented: <token>");
- not a preview: apply callbacks run, so documents built in `.apply` are checked too.
"""

from __future__ import annotations

import json
import runpy
import uuid
from dataclasses import dataclass, field
from inspect import isawaitable
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from .model.config import PROJECT, REPO_ROOT, stack_file_values

MAIN = REPO_ROOT / "__main__.py"
ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

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
    "aws:rds/instance:Instance": ("rds", "db:{name}", True),
    "aws:secretsmanager/secret:Secret": ("secretsmanager", "secret:{name}-AbCdEf", True),
}


@dataclass
class RegisteredResource:
    """One resource as the engine saw it register."""

    type: str
    name: str  # logical name
    urn: str
    id: str
    custom: bool
    inputs: dict[str, Any]  # camelCase wire names, after stack transforms
    outputs: dict[str, Any]  # what the mocks returned
    parent: str  # parent URN ("" for the stack itself)
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    provider: str = ""
    protect: bool = False

    @property
    def props(self) -> dict[str, Any]:
        return self.inputs


class StackEvaluation(list):
    """The registered resources (a list of RegisteredResource) and the stack outputs."""

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

    def by_urn(self, urn: str) -> RegisteredResource:
        for r in self:
            if r.urn == urn:
                return r
        raise KeyError(f"no resource with URN {urn}")

    def children(self, parent: RegisteredResource) -> list[RegisteredResource]:
        return [r for r in self if r.parent == parent.urn]


class LakehouseMocks(pulumi.runtime.Mocks):
    """Outputs = inputs + realistic ids/ARNs; provider calls answered for one account and region."""

    def __init__(self, account_id: str = ACCOUNT, region: str = DEFAULT_REGION, partition: str = "aws"):
        self.account_id, self.region, self.partition = account_id, region, partition
        self.created: list[tuple[str, str]] = []  # (type, name) of every new_resource call
        self.calls: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.created.append((args.typ, args.name))
        inputs = dict(args.inputs)
        out = dict(inputs)
        name = inputs.get("name") or args.name
        rid = f"{args.name}-id"
        if args.typ == "aws:s3/bucket:Bucket":
            name = rid = inputs.get("bucket") or args.name
            out.update(bucket=rid, arn=f"arn:{self.partition}:s3:::{rid}",
                       bucketRegionalDomainName=f"{rid}.s3.{self.region}.amazonaws.com")
        elif args.typ == "aws:kms/key:Key":
            rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.account_id}/{args.name}"))
            out["keyId"] = rid
        elif args.typ in ("aws:iam/role:Role", "aws:cloudwatch/logGroup:LogGroup", "aws:glue/job:Job",
                          "aws:glue/catalogDatabase:CatalogDatabase", "aws:cloudwatch/eventRule:EventRule",
                          "aws:glue/securityConfiguration:SecurityConfiguration", "aws:glue/workflow:Workflow",
                          "aws:glue/trigger:Trigger", "aws:glue/connection:Connection"):
            rid = name
        if args.typ in ARN_FORMATS:
            service, resource, regional = ARN_FORMATS[args.typ]
            region = self.region if regional else ""
            out["arn"] = (f"arn:{self.partition}:{service}:{region}:{self.account_id}:"
                          + resource.format(name=name, id=rid))
        if args.typ == "aws:sns/topic:Topic":
            rid = out["arn"]
        if args.typ == "aws:rds/instance:Instance":  # what RDS reports once the instance exists
            address = f"{inputs.get('identifier', args.name)}.abc123xyz.{self.region}.rds.amazonaws.com"
            out.update(address=address, endpoint=f"{address}:{int(inputs.get('port', 5432))}", masterUserSecrets=[{
                "secretArn": f"arn:{self.partition}:secretsmanager:{self.region}:{self.account_id}:secret:rds!db-{args.name}-AbCdEf",
                "kmsKeyId": inputs.get("masterUserSecretKmsKeyId"), "secretStatus": "active"}])
        if args.typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Gateway":
            out["prefixListId"] = "pl-63a5400a"
        if args.typ == "aws:ec2/vpc:Vpc":
            out["cidrBlock"] = inputs.get("cidrBlock")
        out.setdefault("id", rid)
        if "name" not in out and not args.typ.startswith("pulumi:"):
            out["name"] = name
        out.setdefault("arn", f"arn:{self.partition}:mock:{self.region}:{self.account_id}:{args.typ}/{args.name}")
        return [rid, out]

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append(args.token)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": self.account_id, "arn": f"arn:{self.partition}:iam::{self.account_id}:user/offline",
                    "id": self.account_id, "userId": "AIDAOFFLINE"}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": self.partition, "dnsSuffix": "amazonaws.com", "id": self.partition,
                    "reverseDnsPrefix": "com.amazonaws"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com", "description": self.region}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            zones = [f"{self.region}{s}" for s in "abc"]
            return {"names": zones, "zoneIds": [f"use1-az{i}" for i in range(1, 4)], "id": self.region, "state": "available"}
        raise NotImplementedError(f"Mock call not implemented: {args.token}")


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, plus: run stack transforms like the engine, and record everything."""

    def __init__(self, mocks: LakehouseMocks):
        super().__init__(mocks)
        self.registrations: dict[str, RegisteredResource] = {}

    def RegisterResource(self, request):
        if request.type != "pulumi:pulumi:Stack" and self._stack_transforms:
            request = self._transformed(request)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        reg = self.resources[response.urn]
        self.registrations[response.urn] = RegisteredResource(
            type=request.type,
            name=request.name,
            urn=response.urn,
            id=reg.id or "",
            custom=bool(request.custom),
            inputs=_plain(rpc.deserialize_properties(request.object)),
            outputs=_plain(dict(reg.state)),
            parent=request.parent,
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            provider=request.provider,
            protect=bool(request.protect),
        )
        return response

    def _transformed(self, request):
        props = rpc.deserialize_properties(request.object)
        for transform in list(_resource_transforms(request)) + list(self._stack_transforms):
            args = pulumi.ResourceTransformArgs(custom=bool(request.custom), type_=request.type, name=request.name,
                                                props=props, opts=pulumi.ResourceOptions())
            result = transform(args)
            if isawaitable(result):
                result = _sync_await(result)
            if result is not None:
                props = dict(result.props)
        new = type(request)()
        new.CopyFrom(request)
        new.object.CopyFrom(_sync_await(rpc.serialize_properties(props, {})))
        return new


def _resource_transforms(request) -> list:
    return pulumi_mocks._resolve_callbacks(request.transforms)


def _plain(value: Any) -> Any:
    """Wire values as plain Python: secrets unwrapped, assets described by their path/text."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
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


def run_program(program: Callable[[], Any], *, stack: str = "dev", config_values: Optional[Mapping[str, Any]] = None,
                mocks: Optional[LakehouseMocks] = None, project: str = PROJECT) -> StackEvaluation:
    """Run `program` (a callable creating resources) as a stack under mocks; return what it registered.

    Exceptions of the program propagate (a ConfigError, for instance); `mocks.created`
    then tells what was registered before it.
    """
    values = dict(config_values or {})
    region = str(values.get("aws:region") or DEFAULT_REGION)
    mocks = mocks or LakehouseMocks(region=region)
    monitor = _RecordingMonitor(mocks)
    settings.ROOT.set(None)  # a fresh root Stack resource per evaluation
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(pulumi_config_values(values))
    _sync_await(run_pulumi_func(program))
    root = settings.get_root_resource()
    outputs = _sync_await(pulumi.Output.from_input(dict(root.outputs)).future()) if root.outputs else {}
    return StackEvaluation(list(monitor.registrations.values()), _plain(outputs or {}), stack)


def evaluate_stack(stack: str, config_values: Optional[Mapping[str, Any]] = None, *,
                   mocks: Optional[LakehouseMocks] = None, main: Path = MAIN) -> StackEvaluation:
    """Run __main__.py for `stack` under mocks.

    config_values: the stack's config as written in a stack file (`glue-lakehouse:key` or
    `aws:region` keys, YAML-typed values); default: read Pulumi.<stack>.yaml. When given,
    they replace the file's values (start from lakehouse.model.config.stack_file_values(stack)
    to change one key).
    """
    values = stack_file_values(stack) if config_values is None else dict(config_values)
    return run_program(lambda: runpy.run_path(str(main), run_name="__main__"), stack=stack,
                       config_values=values, mocks=mocks)
