"""Every entry script parses the exact command line Glue 5.0 gives it, through the official
`awsglue.utils.getResolvedOptions` (PyPI `awsgluedataplanepython`, installed by scripts/setup.sh into
.cache/awsglue, outside the venv so local runs never take the Glue branch).

Glue runs `script.py --JOB_ID <id> --JOB_RUN_ID <id> --JOB_NAME <name> --job-bookmark-option <option>
--TempDir <uri>` followed by the job's default arguments. Those are built here exactly as the stack
registers them (lakehouse.model.platform.deployed_arguments), for every job of both stacks.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from lakehouse.model.config import load_stack_config
from lakehouse.model.names import job_names, lake_names
from lakehouse.model.platform import deployed_arguments
from lakelib.runtime.args import parse_argv, resolve
from lakelib.runtime.quality import parse_rules

REPO = Path(__file__).resolve().parents[2]
AWSGLUE = REPO / ".cache" / "awsglue"
ACCOUNT = "123456789012"
STACKS = {stack: load_stack_config(stack) for stack in ("dev", "prod")}
JOBS = [(stack, job) for stack, cfg in STACKS.items() for p in cfg.pipelines for j in [p.jobs] for job in j]


@pytest.fixture()
def official_awsglue(monkeypatch):
    """The official library importable for one test, then forgotten (sys.modules included)."""
    if not (AWSGLUE / "awsglue" / "utils.py").is_file():
        pytest.fail(f"{AWSGLUE} has no awsglue: run `bash scripts/setup.sh` (it installs awsgluedataplanepython)",
                    pytrace=False)
    monkeypatch.syspath_prepend(str(AWSGLUE))
    yield
    for name in [m for m in sys.modules if m == "awsglue" or m.startswith("awsglue.")]:
        del sys.modules[name]


def glue_argv(stack: str, job) -> list[str]:
    cfg = STACKS[stack]
    names = lake_names(cfg, ACCOUNT)
    jn = job_names(cfg, job)
    library = f"s3://{names.buckets['scripts']}/lib/lakelib-0123456789abcdef.zip"
    ca_bundle = f"s3://{names.buckets['scripts']}/certs/fedcba9876543210/rds-ca-bundle.pem"
    default = deployed_arguments(job, cfg.job_settings[job.key], jn, names.buckets, names.databases, library,
                                 cfg.resource_name("postgres") if job.connection else None, ca_bundle)
    argv = [f"/tmp/{Path(job.script).name}", "--JOB_ID", "j_0123456789abcdef", "--JOB_RUN_ID",
            "jr_0123456789abcdef0123456789abcdef", "--JOB_NAME", jn.job,
            "--job-bookmark-option", default["--job-bookmark-option"], "--TempDir", default["--TempDir"]]
    for key, value in default.items():
        if key not in ("--job-bookmark-option", "--TempDir"):
            argv += [key, value]
    return argv


def entry_args(script: str):
    spec = importlib.util.spec_from_file_location("glue_entry_" + script.replace("/", "_")[:-3],
                                                  REPO / "glue_scripts" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ARGS


@pytest.mark.parametrize("stack, job", JOBS, ids=[f"{s}-{j.key}" for s, j in JOBS])
def test_every_job_parses_the_command_line_glue_sends(official_awsglue, stack, job):
    from awsglue.utils import getResolvedOptions  # the official one, from .cache/awsglue

    assert getResolvedOptions.__module__ == "awsglue.utils"
    assert Path(sys.modules["awsglue.utils"].__file__).is_relative_to(AWSGLUE)
    spec = entry_args(job.script)
    args = parse_argv(glue_argv(stack, job), spec, extra_required=("JOB_NAME",))
    assert args["JOB_RUN_ID"] == "jr_0123456789abcdef0123456789abcdef"  # Glue's own, returned unasked
    assert args["JOB_NAME"] == job_names(STACKS[stack], job).job
    resolved = resolve(args, spec)  # what the job's run() resolves: every required argument present
    assert resolved["catalog"] == "glue_catalog"
    assert resolved["JOB_RUN_ID"] == args["JOB_RUN_ID"]
    # the data-quality rules arrive whole through getResolvedOptions (a JSON value with quotes and spaces)
    assert [r.dqdl for r in parse_rules(resolved.get("quality_rules"))] == [r.dqdl for r in job.quality]
    if job.connection:  # the JDBC jobs: the Glue connection, and the CA bundle --extra-files puts beside them
        assert resolved["connection_name"] == STACKS[stack].resource_name("postgres")
        assert resolved["jdbc_ca_file"] == "rds-ca-bundle.pem"
    else:
        assert "--extra-files" not in glue_argv(stack, job)
