"""One table of platform job arguments, three users that agree on it: the GlueJob component deploys
`deployed_arguments`, the declaration parser refuses every key of it, `lakehouse.ops verify` expects
exactly it on a deployed job."""

from __future__ import annotations

import pytest

from lakehouse.model.config import load_stack_config
from lakehouse.model.errors import ConfigError
from lakehouse.model.names import job_names, lake_names
from lakehouse.model.pipelines import parse_pipeline
from lakehouse.model.platform import MANAGED_ARGUMENTS, PLATFORM_ARGUMENTS, deployed_arguments
from lakehouse.ops.aws import StackOutputs
from lakehouse.ops.verify import FALSE_WHEN_ABSENT, argument_problems

ACCOUNT = "123456789012"
CFG = load_stack_config("dev")
NAMES = lake_names(CFG, ACCOUNT)
OUTPUTS = StackOutputs({"buckets": dict(NAMES.buckets), "databases": dict(NAMES.databases)}, "test")
LIBRARY = f"s3://{NAMES.buckets['scripts']}/lib/lakelib-0123456789abcdef.zip"
JOBS = [j for p in CFG.pipelines for j in p.jobs]


def as_deployed(job) -> dict[str, str]:
    """What the program gives the job (components/glue_job.py calls exactly this)."""
    connection = CFG.resource_name("postgres") if job.connection else None
    return deployed_arguments(job, CFG.job_settings[job.key], job_names(CFG, job), NAMES.buckets, NAMES.databases,
                              LIBRARY, connection)


@pytest.mark.parametrize("job", JOBS, ids=lambda j: j.key)
def test_ops_verify_expects_exactly_what_the_program_deploys(job):
    deployed = as_deployed(job)
    assert argument_problems(deployed, job, CFG, OUTPUTS) == []
    for key in sorted(set(deployed) - {"--connection_name"}):  # connection_problems checks that one
        if key in FALSE_WHEN_ABSENT and deployed[key] == "false":
            continue  # Glue reads an absent flag as false: the same job
        without = {k: v for k, v in deployed.items() if k != key}
        assert argument_problems(without, job, CFG, OUTPUTS), f"verify misses a deployed job without {key}"


@pytest.mark.parametrize("job", JOBS, ids=lambda j: j.key)
def test_every_argument_the_program_deploys_is_refused_in_a_declaration(job):
    for key in as_deployed(job):
        if key in job.arguments:  # the job's own declared arguments are its to set
            continue
        declaration = {"name": "p", "jobs": [{"name": "a", "script": "fhir/bronze.py",
                                              "writes": [{"zone": "bronze", "tables": ["t"]}],
                                              "arguments": {key: "x"}}]}
        with pytest.raises(ConfigError) as e:
            parse_pipeline(declaration, "p.yaml")
        assert e.value.problems == [f"p.yaml: jobs.a.arguments.{key}: got 'x'; allowed: no platform-managed "
                                    f"argument ({key} is {MANAGED_ARGUMENTS[key]})"]


def test_the_managed_set_is_derived_from_the_platform_table():
    assert {a.key for a in PLATFORM_ARGUMENTS} <= set(MANAGED_ARGUMENTS)
    assert len({a.key for a in PLATFORM_ARGUMENTS}) == len(PLATFORM_ARGUMENTS)  # one row per key
