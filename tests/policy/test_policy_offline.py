"""The offline runner: a `pulumi stack export` file, enforcement levels from the pack config,
the engine's config defaults, and the command line."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from policy.lakehouse_policies import all_policies
from policy.offline import (
    OfflineError,
    configure,
    evaluate,
    load_pack_config,
    main,
    mandatory,
    resources_from_export,
)

ROOT = Path(__file__).resolve().parents[2]
EXPORT = ROOT / "tests" / "fixtures" / "prod-stack-export.json"
SECRET_NOTE = ("not evaluated: connectionProperties is a secret in the state file; export with "
               "`pulumi stack export --show-secrets` to check it")


def _export() -> dict:
    return json.loads(EXPORT.read_text())


def _resource(export: dict, name: str) -> dict:
    return next(r for r in export["deployment"]["resources"] if r["urn"].endswith("::" + name))


def _write(tmp_path: Path, export: dict) -> Path:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    return path


def test_export_fixture_passes_with_one_note_about_its_encrypted_secret():
    resources = resources_from_export(_export())
    assert len(resources) == 36  # raw and gold with every bucket setting, logging to the logs bucket
    assert {r.type for r in resources} >= {"pulumi:pulumi:Stack", "pulumi:providers:aws", "aws:s3/bucket:Bucket",
                                          "glue-lakehouse:components:LakeBucket"}
    violations = evaluate(resources, load_pack_config(ROOT / "policy" / "config.prod.json"))
    assert [(v.level, v.policy, v.resource_name, v.message) for v in violations] == [
        ("advisory", "aws-glue-connection-enforce-ssl", "db-connection", SECRET_NOTE)]


def test_export_with_shown_secrets_is_fully_checked(tmp_path):
    export = _export()
    conn = _resource(export, "db-connection")
    shown = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
             "value": {"JDBC_CONNECTION_URL": "jdbc:postgresql://db:5432/lake", "JDBC_ENFORCE_SSL": "false"}}
    conn["inputs"]["connectionProperties"] = conn["outputs"]["connectionProperties"] = shown
    violations = evaluate(resources_from_export(export), load_pack_config(ROOT / "policy" / "config.prod.json"))
    assert [(v.level, v.policy, v.message) for v in violations] == [
        ("mandatory", "aws-glue-connection-enforce-ssl",
         "JDBC connection does not enforce SSL (JDBC_ENFORCE_SSL is 'false'); "
         "expected connectionProperties.JDBC_ENFORCE_SSL = \"true\"")]


def test_stack_policies_judge_resource_state_and_correlate_by_name(tmp_path):
    export = _export()
    bucket = _resource(export, "gold-bucket")
    del bucket["inputs"]["bucket"]  # auto-named: only the state knows the name
    for r in export["deployment"]["resources"]:
        r.pop("propertyDependencies", None)
    assert mandatory(evaluate(resources_from_export(export), {})) == []
    sse = _resource(export, "gold-bucket-sse")
    sse["outputs"]["rules"][0]["applyServerSideEncryptionByDefault"] = {"sseAlgorithm": "AES256"}
    found = mandatory(evaluate(resources_from_export(export), {}))
    assert [(v.policy, v.resource_name, v.urn) for v in found] == [
        ("aws-s3-bucket-enable-sse-kms-customer-key", "gold-bucket", bucket["urn"])]


def test_resources_pending_deletion_are_ignored():
    export = _export()
    old = copy.deepcopy(_resource(export, "alerts"))
    old["delete"] = True
    old["inputs"]["kmsMasterKeyId"] = ""
    export["deployment"]["resources"].append(old)
    assert len(resources_from_export(export)) == 36


def test_command_exits_non_zero_on_a_mandatory_violation_and_prints_a_table(tmp_path, capsys):
    export = _export()
    _resource(export, "fhir-gold")["inputs"]["timeout"] = 2880
    path = _write(tmp_path, export)
    assert main(["--state", str(path)]) == 1
    out = capsys.readouterr().out
    assert "aws-glue-job-configure-timeout" in out and "timeout is 2880 minutes; expected at most 480 minutes" in out
    assert "1 mandatory, 1 advisory" in out
    # a pack config that makes the finding advisory: exit 0
    config = tmp_path / "advisory-timeout.json"
    config.write_text(json.dumps({"all": "mandatory", "aws-glue-job-configure-timeout": "advisory"}))
    assert main(["--state", str(path), "--config", str(config)]) == 0
    capsys.readouterr()
    # checked as the dev stack, prod-tagged resources are refused
    assert main(["--state", str(path), "--stack", "dev"]) == 1
    out = capsys.readouterr().out
    assert "Environment tag is 'prod'; expected 'dev'" in out and "11 mandatory, 2 advisory" in out


def test_command_prints_json_and_reads_an_explicit_config(tmp_path, capsys):
    config = tmp_path / "pack.json"
    config.write_text(json.dumps({"all": "advisory", "aws-glue-connection-enforce-ssl": "disabled"}))
    export = _export()
    _resource(export, "raw-bucket-pab")["inputs"]["blockPublicAcls"] = False
    _resource(export, "raw-bucket-pab")["outputs"]["blockPublicAcls"] = False
    assert main(["--state", str(_write(tmp_path, export)), "--config", str(config), "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [(v["level"], v["policy"], v["resource_name"], v["message"]) for v in found] == [
        ("advisory", "aws-s3-bucket-configure-public-access-block", "raw-bucket-pab",
         "bucket 'raw-bucket' public access block leaves blockPublicAcls off; expected blockPublicAcls, "
         "blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets all true")]


def test_command_reports_bad_input_with_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"deployment": {"resources": [{"urn": "x"}]}}))
    assert main(["--state", str(bad), "--stack", "prod"]) == 2
    assert "deployment.resources[0] has no urn/type" in capsys.readouterr().err
    assert main(["--state", str(EXPORT), "--config", str(tmp_path / "missing.json")]) == 2
    assert "policy config: no file" in capsys.readouterr().err


def test_a_bad_stack_name_exits_2_naming_the_stacks(capsys):
    assert main(["--stack", "staging"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stack staging: invalid configuration:")
    assert "stack: got 'staging'; allowed: one of the stacks with a Pulumi.<stack>.yaml: ['dev', 'prod']" in err
    assert "Traceback" not in err


def test_a_stack_config_the_program_refuses_exits_2_with_every_problem(monkeypatch, capsys):
    import lakehouse.offline
    from lakehouse.model.config import stack_file_values

    real = lakehouse.offline.evaluate_stack
    values = {**stack_file_values("dev"), "glue-lakehouse:workerType": "G.9X"}
    monkeypatch.setattr(lakehouse.offline, "evaluate_stack", lambda stack: real(stack, values))
    assert main(["--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stack dev: invalid configuration:")
    assert "glue-lakehouse:workerType: got 'G.9X'; allowed: G.1X | G.2X | G.4X | G.8X" in err
    values["glue-lakehouse:workerType"] = "G.1X"
    del values["aws:region"]
    assert main(["--stack", "dev"]) == 2
    assert "error: stack dev: Pulumi.dev.yaml: Missing required configuration variable 'aws:region'" in \
        capsys.readouterr().err


def test_the_pack_runs_in_its_own_analyzer_process_and_offline_imports_no_private_api():
    """evaluate() speaks the analyzer protocol to the pack's server; the policies never run in this process."""
    import ast

    import policy.offline as offline

    server = offline._pack_server()
    assert server.name == "glue-lakehouse-policies"
    assert server.policy_names == [p.name for p in all_policies()]
    assert server._proc.poll() is None  # a separate process: `python -u -m pulumi.policy <address> policy/`
    tree = ast.parse(Path(offline.__file__).read_text())
    imported = [(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names]
    from_pack_sdk = [(m, a) for m, a in imported if m and m.startswith("pulumi_policy")]
    assert from_pack_sdk and all(m == "pulumi_policy" and not a.startswith("_") for m, a in from_pack_sdk)
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import)
                and any(a.name.startswith("pulumi_policy") for a in n.names)]


def test_command_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "policy.offline", "--state", str(EXPORT)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "0 mandatory, 1 advisory" in done.stdout


def test_levels_follow_the_cli_precedence():
    by = lambda cfg: {c.policy.name: c.level.value for c in configure(all_policies(), cfg)}  # noqa: E731
    assert by({})["aws-rds-instance-enable-multi-az"] == "advisory"  # the policy's own default
    assert by({})["aws-kms-key-enable-rotation"] == "mandatory"
    levels = by({"all": "advisory", "aws-kms-key-enable-rotation": "mandatory",
                 "aws-glue-job-limit-workers": {"enforcementLevel": "disabled", "maxWorkers": 4}})
    assert levels["aws-rds-instance-enable-multi-az"] == "advisory"
    assert levels["aws-kms-key-enable-rotation"] == "mandatory"
    assert levels["aws-glue-job-limit-workers"] == "disabled"
    assert levels["aws-sns-topic-enable-kms"] == "advisory"


def test_schema_defaults_are_filled_and_overridden():
    cfg = {c.policy.name: c.config
           for c in configure(all_policies(), {"aws-glue-job-limit-workers": {"maxWorkers": 4}})}
    assert cfg["aws-glue-job-limit-workers"] == {"maxWorkers": 4}
    assert cfg["aws-glue-job-configure-timeout"] == {"maxTimeoutMinutes": 480}
    assert cfg["aws-kms-key-enable-rotation"] == {}


def test_disabled_policies_do_not_run():
    from policy_support import happy_stack

    s = happy_stack()
    s.get("lake-key").inputs["enableKeyRotation"] = False
    assert [v.policy for v in evaluate(s.resources, {})] == ["aws-kms-key-enable-rotation"]
    assert evaluate(s.resources, {"aws-kms-key-enable-rotation": "disabled"}) == []


def test_the_pack_is_asked_again_only_about_what_changed_since_it_answered(monkeypatch):
    """Under one configuration a resource the pack has answered for is not sent again; under
    another, every resource is, and the answer is the new configuration's."""
    from policy_support import happy_stack

    import policy.offline as offline

    server = offline._pack_server()
    monkeypatch.setattr(server, "_answers", {})  # what earlier tests in this process left
    sent: list[str] = []
    ask = server.stub.Analyze
    monkeypatch.setattr(server.stub, "Analyze", lambda request: sent.append(request.name) or ask(request))
    s = happy_stack()
    every = sorted(r.name for r in s.resources if not r.type.startswith("pulumi:"))

    assert evaluate(s.resources, {}) == []
    assert sorted(sent) == every
    sent.clear()
    rotation = "aws-kms-key-enable-rotation"
    s.get("lake-key").inputs["enableKeyRotation"] = False
    assert [(v.policy, v.level) for v in evaluate(s.resources, {})] == [(rotation, "mandatory")]
    assert sent == ["lake-key"]
    sent.clear()
    assert [(v.policy, v.level) for v in evaluate(s.resources, {rotation: "advisory"})] == [(rotation, "advisory")]
    assert sorted(sent) == every
    sent.clear()
    s.get("lake-key").inputs["enableKeyRotation"] = True
    assert evaluate(s.resources, {}) == []
    assert sent == []


@pytest.mark.parametrize("config, message", [
    ({"aws-glue-job-limits": {"maxWorkers": 3}}, "policy config: unknown policies ['aws-glue-job-limits']"),
    ({"all": "strict"}, "policy config 'all': got 'strict'; allowed: advisory | mandatory | remediate | disabled"),
    ({"aws-glue-job-limit-workers": {"maxWorker": 3}},
     "policy config 'aws-glue-job-limit-workers': unknown keys ['maxWorker']; allowed: ['maxWorkers']"),
    ({"aws-glue-job-limit-workers": {"maxWorkers": "ten"}},
     "policy config 'aws-glue-job-limit-workers'.maxWorkers: got 'ten'; 'ten' is not of type 'integer'"),
    ({"aws-glue-job-limit-workers": 3},
     "policy config 'aws-glue-job-limit-workers': got 3; allowed: a level or an object"),
])
def test_bad_pack_config_is_refused_with_the_key_and_value(config, message):
    with pytest.raises(OfflineError) as e:
        configure(all_policies(), config)
    assert str(e.value).startswith(message)
