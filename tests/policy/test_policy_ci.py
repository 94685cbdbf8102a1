"""CI/CD as code: the pull-request workflow (linted by actionlint, for real) and the Pulumi
Deployments settings of both stacks."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from lakehouse.model.deploy_roles import deploy_role_name

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
STACKS = ("dev", "prod")


def actionlint() -> str:
    """actionlint from the project's virtualenv (where scripts/setup.sh installs it), else PATH,
    else Go's default install folder."""
    candidates = [ROOT / ".venv" / "bin" / "actionlint"]
    if shutil.which("actionlint"):
        candidates.append(Path(shutil.which("actionlint")))
    if shutil.which("go"):
        gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True).stdout.strip()
        candidates.append(Path(gopath) / "bin" / "actionlint")
    found = next((c for c in candidates if c.is_file()), None)
    assert found, ("actionlint is not installed: GOBIN=$PWD/.venv/bin go install "
                   "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12")
    return str(found)


def _lint(paths) -> subprocess.CompletedProcess:
    return subprocess.run([actionlint(), "-no-color", *map(str, paths)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "NO_COLOR": "1"})


def test_workflows_pass_actionlint():
    assert [p.name for p in WORKFLOWS] == ["pull-request.yml"]
    done = _lint(WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_really_checks_the_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows"
    broken.mkdir(parents=True)
    text = WORKFLOWS[0].read_text().replace("needs: test", "needs: tests", 1)
    (broken / "pull-request.yml").write_text(text)
    done = _lint([broken / "pull-request.yml"])
    assert done.returncode == 1
    assert 'job "preview" needs job "tests" which does not exist in this workflow' in done.stdout


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOWS[0].read_text())


def _step(job: dict, uses: str) -> tuple[int, dict]:
    for i, step in enumerate(job["steps"]):
        if step.get("uses", "").startswith(uses):
            return i, step
    raise AssertionError(f"no step uses {uses}")


def test_pull_requests_run_tests_and_the_offline_check_before_previews():
    wf = _workflow()
    assert wf[True] == {"pull_request": {"branches": ["main"]}}  # YAML 1.1 reads the key `on` as True
    test = wf["jobs"]["test"]
    runs = [s.get("run", "") for s in test["steps"]]
    assert runs.index("bash scripts/setup.sh") < runs.index(".venv/bin/python -m pytest --tb=short -q")
    assert runs.index("bash scripts/build-pulumi-engine.sh") < runs.index(".venv/bin/python -m pytest --tb=short -q")
    assert runs.index(".venv/bin/ruff check .") < runs.index(".venv/bin/python -m pytest --tb=short -q")
    assert ".venv/bin/python -m policy.offline --stack dev\n.venv/bin/python -m policy.offline --stack prod\n" in runs
    assert wf["jobs"]["preview"]["needs"] == "test"


def _run_step(job: dict, contains: str) -> tuple[int, dict]:
    for i, step in enumerate(job["steps"]):
        if contains in step.get("run", ""):
            return i, step
    raise AssertionError(f"no step runs {contains!r}")


def test_previews_use_the_pack_and_each_stacks_policy_config_after_installing_dependencies():
    preview = _workflow()["jobs"]["preview"]
    assert [m["stack"] for m in preview["strategy"]["matrix"]["include"]] == list(STACKS)
    assert preview["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    i, run = _run_step(preview, "pulumi preview")
    command = " ".join(run["run"].replace("\\\n", " ").split())
    assert ('pulumi preview --stack "${PULUMI_ORG}/${STACK}" --policy-pack policy '
            '--policy-pack-config "policy/config.${STACK}.json"') in command
    assert run["env"]["STACK"] == "${{ matrix.stack }}" and "set -o pipefail" in run["run"]
    j, aws = _step(preview, "aws-actions/configure-aws-credentials@")
    k, login = _run_step(preview, "pulumi login")
    installs = [n for n, s in enumerate(preview["steps"]) if "pip install" in s.get("run", "")]
    assert len(installs) == 2 and max(installs) < j < i and k < i
    assert "policy/requirements.txt" in preview["steps"][installs[1]]["run"]
    for stack in STACKS:
        assert (ROOT / "policy" / f"config.{stack}.json").is_file()


def test_the_preview_assumes_the_read_only_preview_role_and_logs_in_with_a_short_lived_token():
    preview = _workflow()["jobs"]["preview"]
    _, aws = _step(preview, "aws-actions/configure-aws-credentials@")
    assert aws["with"]["role-to-assume"] == "${{ vars[matrix.role-variable] }}"
    assert {m["role-variable"] for m in preview["strategy"]["matrix"]["include"]} == {
        "AWS_PREVIEW_ROLE_ARN_DEV", "AWS_PREVIEW_ROLE_ARN_PROD"}
    _, login = _run_step(preview, "pulumi login")
    assert "--oidc-token" in login["run"] and "audience=urn:pulumi:org:${PULUMI_ORG}" in login["run"]
    assert "--oidc-expiration 1h" in login["run"]


def unpinned_actions(workflow_text: str) -> list[str]:
    """`uses:` references not pinned to a full commit SHA with the tag in a comment."""
    refs = re.findall(r"^\s*-?\s*uses:\s*(\S+)(.*)$", workflow_text, flags=re.M)
    return [ref for ref, rest in refs if not (re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref)
                                              and re.fullmatch(r"\s+#\s*v\d+(\.\d+)*", rest))]


def stored_credentials(workflow_text: str) -> list[str]:
    """Secrets the workflows read: none, every credential comes from OIDC (github.token aside)."""
    return re.findall(r"secrets\.\w+", workflow_text)


def test_every_action_is_pinned_to_a_commit_and_no_secret_is_stored():
    for path in WORKFLOWS:
        text = path.read_text()
        assert unpinned_actions(text) == [], path.name
        assert stored_credentials(text) == [], path.name
        assert "pulumi/actions" not in text and "pulumi/auth-actions" not in text  # no Pulumi action runs
    # the checks catch what they are for
    assert unpinned_actions("      - uses: actions/checkout@v4\n") == ["actions/checkout@v4"]
    assert unpinned_actions("      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n") == [
        "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"]  # no tag comment: nobody can review it
    assert stored_credentials("PULUMI_ACCESS_TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}") == [
        "secrets.PULUMI_ACCESS_TOKEN"]


def test_checkouts_keep_no_token():
    for name, job in _workflow()["jobs"].items():
        _, checkout = _step(job, "actions/checkout@")
        assert checkout["with"]["persist-credentials"] is False, name


DEPLOY_SCHEMA = {
    "type": "object",
    "required": ["settings"],
    "additionalProperties": False,
    "properties": {"settings": {
        "type": "object",
        "required": ["sourceContext", "gitHub", "operationContext"],
        "additionalProperties": False,
        "properties": {
            "sourceContext": {"type": "object", "required": ["git"], "additionalProperties": False, "properties": {
                "git": {"type": "object", "required": ["repoUrl", "branch"], "additionalProperties": False,
                        "properties": {"repoUrl": {"type": "string", "pattern": r"^https://github\.com/.+\.git$"},
                                       "branch": {"const": "refs/heads/main"},
                                       "repoDir": {"type": "string"}}}}},
            "gitHub": {"type": "object", "required": ["repository", "deployCommits", "previewPullRequests"],
                       "additionalProperties": False, "properties": {
                           "repository": {"type": "string", "pattern": r"^[\w.-]+/[\w.-]+$"},
                           "deployCommits": {"const": True},
                           "previewPullRequests": {"const": False},
                           "pullRequestTemplate": {"type": "boolean"},
                           "paths": {"type": "array", "items": {"type": "string"}, "minItems": 1}}},
            "operationContext": {
                "type": "object", "required": ["oidc", "preRunCommands", "environmentVariables"],
                "additionalProperties": False, "properties": {
                    "oidc": {"type": "object", "required": ["aws"], "additionalProperties": False, "properties": {
                        "aws": {"type": "object", "required": ["roleArn", "sessionName"], "additionalProperties": False,
                                "properties": {
                                    "roleArn": {"type": "string",
                                                "pattern": r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]+$"},
                                    "sessionName": {"type": "string", "pattern": r"^[\w+=,.@-]{2,64}$"},
                                    "duration": {"type": "string", "pattern": r"^\d+h\d+m\d+s$"}}}}},
                    "environmentVariables": {"type": "object", "additionalProperties": {"type": "string"}},
                    "options": {"type": "object", "additionalProperties": {"type": "boolean"}},
                    "preRunCommands": {"type": "array", "items": {"type": "string"}, "minItems": 1}}},
        }}},
}


def _deploy(stack: str) -> dict:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.deploy.yaml").read_text())


@pytest.mark.parametrize("stack", STACKS)
def test_deploy_settings_have_the_structure_pulumi_deployments_reads(stack):
    settings = _deploy(stack)
    jsonschema.validate(settings, DEPLOY_SCHEMA)
    s = settings["settings"]
    assert s["sourceContext"]["git"]["repoUrl"] == f"https://github.com/{s['gitHub']['repository']}.git"
    assert s["operationContext"]["oidc"]["aws"]["roleArn"].endswith(f"/{deploy_role_name(stack)}")
    assert s["operationContext"]["environmentVariables"]["AWS_REGION"] == "us-east-1"


def test_deploy_settings_schema_rejects_a_typo():
    broken = _deploy("prod")
    broken["settings"]["gitHub"]["deployCommit"] = broken["settings"]["gitHub"].pop("deployCommits")
    with pytest.raises(jsonschema.ValidationError, match="'deployCommits' is a required property"):
        jsonschema.validate(broken, DEPLOY_SCHEMA)


@pytest.mark.parametrize("stack", STACKS)
def test_pre_run_commands_install_dependencies_then_gate_on_the_offline_policy_check(stack):
    ctx = _deploy(stack)["settings"]["operationContext"]
    commands = ctx["preRunCommands"]
    assert ctx["options"] == {"skipInstallDependencies": True}
    assert re.fullmatch(r"python3 -m pip install --quiet uv==\d+\.\d+\.\d+", commands[0])
    assert commands[1:] == ["uv sync --frozen --python 3.11", f".venv/bin/python -m policy.offline --stack {stack}"]
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["runtime"]["options"] == {"toolchain": "uv", "virtualenv": ".venv"}


def _tracked_files() -> list[str]:
    done = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_dev_deploys_every_push_and_prod_only_for_paths_that_shape_it():
    assert "paths" not in _deploy("dev")["settings"]["gitHub"]
    paths = _deploy("prod")["settings"]["gitHub"]["paths"]
    files = _tracked_files()
    for pattern in (p for p in paths if not p.startswith("!")):
        assert any(fnmatch.fnmatch(f, pattern) for f in files), f"prod path filter {pattern} matches no file"
    for must in ("components/glue_workflow.py", "policy/config.prod.json", "Pulumi.prod.yaml", "pipelines/fhir.yaml"):
        assert any(fnmatch.fnmatch(must, p) for p in paths if not p.startswith("!")), must
    for never in ("README.md", "Pulumi.dev.yaml", "tests/test_config.py", "docs/policy-pack.md"):
        assert not any(fnmatch.fnmatch(never, p) for p in paths if not p.startswith("!")) or \
            any(fnmatch.fnmatch(never, p[1:]) for p in paths if p.startswith("!")), never
