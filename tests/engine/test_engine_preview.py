"""The real Pulumi engine previews both stacks, with the policy pack.

`pulumi preview --stack <stack>` runs through scripts/pulumi-preview.sh: the Pulumi CLI, the Python
language host and the program as `pulumi up` would run them, the file backend in .cache/, each
stack's configuration, and `--policy-pack policy --policy-pack-config policy/config.<stack>.json`
(the pack in its own venv, spoken to by the engine over the analyzer protocol). The events come
from the CLI's streaming JSON (`--json` with PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true).

The AWS provider is the project's stand-in (engine/standin-provider, built with the engine by
scripts/build-pulumi-engine.sh, which `make test` runs as `make engine`): it proves the engine,
configuration, program and policy wiring, not AWS behaviour. It calls no AWS API, answers the
program's few provider functions with fixed values (account 123456789012), and leaves unknown what
AWS would compute (ids, ARNs with ids), exactly what a first real preview leaves unknown.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml

from lakehouse.model.config import PROJECT, stack_file_values
from lakehouse.offline import evaluate_stack

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / ".cache" / "pulumi-engine"
BUILD = "bash scripts/build-pulumi-engine.sh"
STACK_TYPE = "pulumi:pulumi:Stack"
@dataclass
class Preview:
    """One `pulumi preview`: its exit status, its engine events, what it printed on stderr."""

    exit_code: int
    events: list[dict[str, Any]]
    stderr: str

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e[kind] for e in self.events if kind in e]

    def resources(self) -> Counter:
        """(type, logical name) of every resource the engine would create, counted."""
        return Counter((e["metadata"]["type"], e["metadata"]["urn"].rsplit("::", 1)[1])
                       for e in self.of("resourcePreEvent") if e["metadata"]["op"] == "create")

    def policy_events(self) -> list[dict[str, Any]]:
        return self.of("policyEvent")

    def cannot_run(self) -> set[tuple[str, str]]:
        """(policy, resource name) of every "can't run policy ... during preview" event."""
        return {(e["policyName"], e["resourceUrn"].rsplit("::", 1)[1])
                for e in self.policy_events() if e["message"].startswith("can't run policy")}

    def violations(self) -> set[tuple[str, str, str, str]]:
        """(level, policy, resource name, message) of every policy finding that is not a can't-run."""
        return {(e["enforcementLevel"], e["policyName"], e["resourceUrn"].rsplit("::", 1)[1], e["message"].strip())
                for e in self.policy_events() if not e["message"].startswith("can't run policy")}


def require_engine() -> None:
    """Fail (never skip) when the engine is not built: `make test` builds it (make engine)."""
    parts = ["bin/pulumi", "bin/pulumi-language-python", "bin/pulumi-language-python-exec", "policy-venv/bin/python"]
    missing = [f".cache/pulumi-engine/{p}" for p in parts if not (ENGINE / p).exists()]
    if not list((ENGINE / "home" / "plugins").glob("resource-aws-v*/pulumi-resource-aws")):
        missing.append(".cache/pulumi-engine/home/plugins/resource-aws-v*/pulumi-resource-aws")
    if missing:
        pytest.fail(f"the Pulumi engine is not built (missing {', '.join(missing)}): run `{BUILD}` "
                    "(make test runs it: make engine)", pytrace=False)


def preview(stack: str, stack_config: Optional[Path] = None) -> Preview:
    """`pulumi preview` of `stack` with the pack and the stack's pack config; `stack_config`
    replaces Pulumi.<stack>.yaml. The script serializes previews (they share .cache state)."""
    require_engine()
    cmd = ["bash", "scripts/pulumi-preview.sh", stack, "--policy-pack", "policy",
           "--policy-pack-config", f"policy/config.{stack}.json", "--json"]
    if stack_config is not None:
        cmd += ["--stack-config", str(stack_config)]
    env = {**os.environ, "PULUMI_ENABLE_STREAMING_JSON_PREVIEW": "true"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    events = []
    for line in proc.stdout.splitlines():
        if line.strip():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                pytest.fail(f"pulumi preview printed a line that is not a JSON event: {line!r}\n{proc.stderr[-3000:]}")
    return Preview(proc.returncode, events, proc.stderr)


def stack_config_file(tmp_path: Path, stack: str, **changes: Any) -> Path:
    """A copy of Pulumi.<stack>.yaml with `glue-lakehouse:<key>` values changed."""
    doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    doc["config"].update({f"{PROJECT}:{k}": v for k, v in changes.items()})
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def registered(stack: str, values: Optional[dict] = None) -> Counter:
    """(type, logical name) of what the program registers for `stack` under the SDK's mocks."""
    return Counter((r.type, r.name) for r in evaluate_stack(stack, values))


@pytest.fixture(scope="module", params=["dev", "prod"])
def shipped(request) -> tuple[str, Preview]:
    return request.param, preview(request.param)


def test_the_engine_previews_the_shipped_stack_with_the_policy_pack(shipped):
    stack, result = shipped
    assert result.exit_code == 0, result.stderr[-3000:]
    [summary] = result.of("summaryEvent")
    assert summary["isPreview"] is True and summary["result"] == "succeeded"
    assert any(k.startswith("glue-lakehouse-policies|") for k in summary["PolicyPacks"])
    assert result.violations() == set() or {level for level, *_ in result.violations()} == {"advisory"}
    # the stand-in says what it is, so no output can be mistaken for one made with the real provider
    assert any("stand-in for the AWS provider" in e.get("message", "") for e in result.of("diagnosticEvent"))


def test_the_engine_would_create_exactly_what_the_program_registers_under_mocks(shipped):
    stack, result = shipped
    engine = result.resources()
    assert engine[(STACK_TYPE, f"{PROJECT}-{stack}")] == 1  # the stack itself: the mocks do not record it
    del engine[(STACK_TYPE, f"{PROJECT}-{stack}")]
    assert engine == registered(stack)


def test_every_policy_judges_the_preview(shipped):
    """Every document is built from names (the connection's network by its tag, the RDS-managed
    secret by its instance's ARN), so no policy meets an unknown value: 34 can't-run events
    before issue 16, then 20 (the connection jobs' second policy, naming AWS-assigned ids)."""
    stack, result = shipped
    assert result.cannot_run() == set()


def test_a_stack_without_connection_jobs_is_judged_whole(tmp_path):
    result = preview("prod", stack_config_file(tmp_path, "prod", pipelines=["fhir"]))
    assert result.exit_code == 0, result.stderr[-3000:]
    assert result.cannot_run() == set()
    values = stack_file_values("prod")
    values[f"{PROJECT}:pipelines"] = ["fhir"]
    engine = result.resources()
    del engine[(STACK_TYPE, f"{PROJECT}-prod")]
    assert engine == registered("prod", values)


def test_a_mandatory_violation_fails_the_preview_naming_the_policy(tmp_path):
    result = preview("prod", stack_config_file(tmp_path, "prod", dbMultiAz=False))
    assert result.exit_code == 1
    assert result.violations() == {(
        "mandatory", "aws-rds-instance-enable-multi-az", "postgres-postgres",
        "RDS instances run Multi-AZ, with a standby in a second availability zone.\n"
        "RDS instance runs in a single availability zone; expected multiAz: true")}
    assert "pulumi preview --stack prod failed" in result.stderr


def test_an_unknown_config_key_fails_the_preview_before_any_resource(tmp_path):
    """The engine hands the program the whole configuration (PULUMI_CONFIG): a misspelled key is
    refused by name, as the local runner refuses it, and nothing is registered."""
    result = preview("dev", stack_config_file(tmp_path, "dev", alertEmial="ops@example.com"))
    assert result.exit_code != 0
    assert "glue-lakehouse:alertEmial: got 'ops@example.com'" in result.stderr + json.dumps(result.events)
    assert [k for k in result.resources() if k[0] != STACK_TYPE] == []


def test_a_missing_engine_fails_with_the_command_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setitem(globals(), "ENGINE", tmp_path)
    with pytest.raises(pytest.fail.Exception, match=r"the Pulumi engine is not built .*: run `bash scripts/"
                                                    r"build-pulumi-engine.sh` \(make test runs it: make engine\)"):
        preview("dev")
