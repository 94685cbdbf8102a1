"""policy/requirements.txt alone makes a venv the pack runs in, even one that starts with a current
setuptools (as a venv made today does): parliament imports pkg_resources, which setuptools 81+ dropped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CURRENT_SETUPTOOLS = "84.2.1"  # newer than 81: has no pkg_resources


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


def test_the_pack_imports_in_a_fresh_venv_from_its_requirements(tmp_path):
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", str(venv)).returncode == 0
    python = str(venv / "bin" / "python")
    done = run(python, "-m", "pip", "install", "--quiet", f"setuptools=={CURRENT_SETUPTOOLS}")
    assert done.returncode == 0, done.stderr
    done = run(python, "-m", "pip", "install", "--quiet", "-r", str(REPO / "policy" / "requirements.txt"))
    assert done.returncode == 0, done.stderr
    done = run(python, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import parliament, lakehouse_policies",
               str(REPO / "policy"))
    assert done.returncode == 0, done.stderr
