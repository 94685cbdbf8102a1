"""What the ops tool needs before any command: a stack's outputs and boto3 clients for it.

Outputs come from `pulumi stack output --json` (when the CLI is installed), a JSON file
written by it, or `--set key=value` options. Clients talk to the region the stack was
deployed to and retry throttled calls through botocore's own retry modes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ProfileNotFound

from ..model.pipelines import REPO_ROOT

RETRY_MODES = ("standard", "adaptive")
# Keys `pulumi stack output --json` prints for a deployed stack (the team contract).
OUTPUT_KEYS = ("region", "kmsKeyArn", "buckets", "databases", "jobs", "securityConfiguration",
               "alertsTopicArn", "workflows")
NOT_FOUND_CODES = {
    "EntityNotFoundException", "NoSuchBucket", "NotFoundException", "404", "NoSuchKey",
    "NoSuchEntity", "ResourceNotFoundException",
}


class OpsError(Exception):
    """A problem the user fixes (bad option, missing output, credentials, region); exit code 2."""


@dataclass
class StackOutputs:
    """A stack's outputs; missing keys raise an OpsError naming the key and the keys present."""

    values: Mapping[str, Any]
    source: str  # where they came from, for error messages

    def get(self, key: str) -> Any:
        if key not in self.values or self.values[key] in (None, "", {}):
            raise OpsError(
                f"stack outputs ({self.source}) have no {key!r}; keys present: "
                f"{', '.join(sorted(self.values)) or 'none'}. Deploy the stack (pulumi up) so it "
                f"exports {key!r}, or pass it with --set {key}=VALUE"
            )
        return self.values[key]

    def item(self, key: str, name: str) -> str:
        group = self.get(key)
        if not isinstance(group, Mapping):
            raise OpsError(f"stack output {key!r} ({self.source}) should be a mapping, got {group!r}")
        if name not in group:
            raise OpsError(
                f"stack output {key!r} ({self.source}) has no {name!r}; present: "
                f"{', '.join(sorted(group)) or 'none'}"
            )
        return str(group[name])


def parse_sets(sets: list[str]) -> dict[str, Any]:
    """`--set region=us-east-1 --set buckets.raw=NAME --set jobs.fhir.bronze=NAME` as a mapping.

    Only the first dot nests, because job keys are "<pipeline>.<job>" themselves.
    """
    out: dict[str, Any] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise OpsError(f"--set {item!r}: expected KEY=VALUE or GROUP.NAME=VALUE (e.g. buckets.raw=my-bucket)")
        group, dot, name = key.partition(".")
        if dot:
            if not isinstance(out.setdefault(group, {}), dict):
                raise OpsError(f"--set {item!r}: {group!r} was also set as a plain value")
            out[group][name] = value
        else:
            out[key] = value
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(merged.get(k), dict):
            merged[k] = {**merged[k], **v}
        else:
            merged[k] = v
    return merged


def load_outputs(stack: str | None, outputs_file: str | None, sets: list[str],
                 which: Callable[[str], str | None] = shutil.which,
                 run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> StackOutputs:
    """Read outputs from --outputs FILE, else the pulumi CLI, else --set options alone."""
    extra = parse_sets(sets)
    if outputs_file:
        path = Path(outputs_file)
        try:
            values = json.loads(path.read_text())
        except FileNotFoundError:
            raise OpsError(f"--outputs {outputs_file}: no such file (write it with "
                           f"`pulumi stack output --json --stack <stack> > {outputs_file}`)") from None
        except json.JSONDecodeError as e:
            raise OpsError(f"--outputs {outputs_file}: not JSON ({e})") from None
        source = str(path)
    elif which("pulumi"):
        cmd = ["pulumi", "stack", "output", "--json"] + (["--stack", stack] if stack else [])
        proc = run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise OpsError(f"`{' '.join(cmd)}` failed: {proc.stderr.strip() or proc.stdout.strip()}")
        try:
            values = json.loads(proc.stdout)
        except json.JSONDecodeError as e:
            raise OpsError(f"`{' '.join(cmd)}` printed no JSON ({e})") from None
        source = " ".join(cmd)
    elif extra:
        values, source = {}, "--set options"
    else:
        raise OpsError(
            "no stack outputs: the pulumi CLI is not installed here. Pass --outputs FILE "
            "(written by `pulumi stack output --json --stack <stack> > FILE`) or the values "
            "with --set (e.g. --set region=us-east-1 --set workflows.fhir=NAME)"
        )
    if not isinstance(values, dict):
        raise OpsError(f"stack outputs ({source}) should be a JSON object, got {type(values).__name__}")
    if extra:
        source += " + --set"
    return StackOutputs(_merge(values, extra), source)


@dataclass
class Aws:
    """boto3 clients bound to the stack's region, sharing one retry configuration."""

    session: boto3.Session
    region: str
    region_source: str
    config: Config
    notes: list[str] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.region, config=self.config)
        return self._clients[service]

    @property
    def glue(self) -> Any:
        return self.client("glue")

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def kms(self) -> Any:
        return self.client("kms")

    @property
    def sfn(self) -> Any:
        return self.client("stepfunctions")

    def not_found(self, kind: str, name: str) -> OpsError:
        return OpsError(
            f"{kind} {name!r} not found in region {self.region} ({self.region_source}). "
            f"Is the stack deployed in this account and region? Check `pulumi stack output region` "
            f"and the account of your credentials (aws sts get-caller-identity)"
        )


def retry_config(mode: str, max_attempts: int) -> Config:
    """Throttled and transient errors are retried with backoff by botocore itself."""
    if mode not in RETRY_MODES:
        raise OpsError(f"--retry-mode {mode!r}: allowed {' | '.join(RETRY_MODES)}")
    if not 1 <= max_attempts <= 20:
        raise OpsError(f"--max-attempts {max_attempts}: allowed 1-20")
    # botocore's Config "max_attempts" counts retries after the first call; the tool's
    # --max-attempts counts every call, like AWS_MAX_ATTEMPTS and the CLI config file.
    return Config(retries={"mode": mode, "max_attempts": max_attempts - 1})


def connect(outputs: StackOutputs, profile: str | None, region: str | None,
            retry_mode: str = "standard", max_attempts: int = 10) -> Aws:
    """A session for the profile, in the stack's region (refusing a contradicting --region)."""
    try:
        session = boto3.Session(profile_name=profile)
    except ProfileNotFound:
        available = boto3.Session().available_profiles
        raise OpsError(f"--profile {profile!r}: no such AWS profile; profiles configured: "
                       f"{', '.join(available) or 'none'} (aws configure --profile NAME)") from None
    stack_region = outputs.values.get("region") or None
    default_region = session.region_name
    notes: list[str] = []
    if region and stack_region and region != stack_region:
        raise OpsError(f"--region {region} does not match the stack's region {stack_region} "
                       f"(stack output 'region', {outputs.source}): its resources live in {stack_region}; "
                       f"drop --region")
    if region:
        chosen, source = region, "from --region"
    elif stack_region:
        chosen, source = str(stack_region), "the stack's 'region' output"
    elif default_region:
        chosen, source = default_region, "your AWS configuration's default region; the stack outputs name none"
    else:
        raise OpsError("no AWS region: the stack outputs have no 'region' and your AWS configuration "
                       "sets none; pass --region or --set region=REGION")
    if default_region and default_region != chosen:
        notes.append(f"using region {chosen} ({source}); your AWS configuration defaults to {default_region}")
    return Aws(session=session, region=chosen, region_source=source,
               config=retry_config(retry_mode, max_attempts), notes=notes)


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def is_not_found(err: ClientError) -> bool:
    return error_code(err) in NOT_FOUND_CODES
