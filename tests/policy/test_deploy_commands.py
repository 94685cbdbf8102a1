"""Pulumi Deployments' preRunCommands, run exactly as written in Pulumi.<stack>.deploy.yaml on a copy
of the repository: a fresh interpreter (standing in for the Deployments image's python3) installs uv,
uv installs the runtime packages of uv.lock only (no test extras), and the offline policy check runs.
This is the check that gates every deployment, so it must work from the runtime packages alone.

Also: one uv version everywhere (set-up, workflow, Deployments) and a uv.lock that matches pyproject.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
UV = REPO / ".cache" / "uv" / "bin" / "uv"


def pre_run_commands(stack: str) -> list[str]:
    deploy = yaml.safe_load((REPO / f"Pulumi.{stack}.deploy.yaml").read_text())
    return deploy["settings"]["operationContext"]["preRunCommands"]


def tracked_copy(dest: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


def test_deploy_commands_run_as_written_with_the_runtime_packages_only(tmp_path):
    image = tmp_path / "image"  # the Deployments image's python3, with its scripts on PATH
    subprocess.run([sys.executable, "-m", "venv", str(image)], check=True)
    repo = tracked_copy(tmp_path / "repo")
    env = {**os.environ, "PATH": f"{image / 'bin'}{os.pathsep}{os.environ['PATH']}", "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    for command in pre_run_commands("prod"):
        done = subprocess.run(["bash", "-c", command], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, f"{command!r} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    installed = subprocess.run([str(repo / ".venv" / "bin" / "python"), "-c",
                                "import importlib.util as u; print(u.find_spec('pytest') is None)"],
                               capture_output=True, text=True, check=True)
    assert installed.stdout.strip() == "True"  # runtime only: the test extras were not installed


def test_one_uv_version_everywhere():
    setup = re.search(r"^UV_VERSION=(\S+)$", (REPO / "scripts" / "setup.sh").read_text(), re.M).group(1)
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "pull-request.yml").read_text())["env"]["UV_VERSION"]
    deploys = {re.fullmatch(r"python3 -m pip install --quiet uv==(\S+)", pre_run_commands(s)[0]).group(1)
               for s in ("dev", "prod")}
    assert {setup, workflow} | deploys == {setup}


def test_uv_lock_matches_pyproject():
    assert UV.exists(), f"{UV} is missing: run `bash scripts/setup.sh`"
    done = subprocess.run([str(UV), "lock", "--check", "--offline"], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"}, timeout=300)
    assert done.returncode == 0, done.stderr
