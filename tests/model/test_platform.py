"""One table of platform job arguments, three users that agree on it: the GlueJob component deploys
`deployed_arguments`, the declaration parser refuses every key of it, `lakehouse.ops verify` expects
exactly it on a deployed job."""

from __future__ import annotations

import pytest

from lakehouse.model.config import load_stack_config, parse_stack_config, stack_file_values
from lakehouse.model.errors import ConfigError
from lakehouse.model.iam import job_log_groups
from lakehouse.model.names import job_names, lake_names
from lakehouse.model.pipelines import parse_pipeline
from lakehouse.model.platform import (
    MANAGED_ARGUMENTS,
    PLATFORM_ARGUMENTS,
    deployed_arguments,
    external_code_argument,
    external_code_problem,
)
from lakehouse.ops.aws import StackOutputs
from lakehouse.ops.verify import FALSE_WHEN_ABSENT, argument_problems

ACCOUNT = "123456789012"
CFG = load_stack_config("dev")
NAMES = lake_names(CFG, ACCOUNT)
OUTPUTS = StackOutputs({"buckets": dict(NAMES.buckets), "databases": dict(NAMES.databases)}, "test")
LIBRARY = f"s3://{NAMES.buckets['scripts']}/lib/lakelib-0123456789abcdef.zip"
CA_BUNDLE = f"s3://{NAMES.buckets['scripts']}/certs/fedcba9876543210/rds-ca-bundle.pem"
JOBS = [j for p in CFG.pipelines for j in p.jobs]
CFG_GLUE4 = parse_stack_config("dev", {**stack_file_values("dev"), "glue-lakehouse:glueVersion": "4.0"})
GLUE4_LOGGING = ("--enable-continuous-cloudwatch-log", "--enable-continuous-log-filter", "--continuous-log-logGroup")
LOG_PREFIX = "--custom-logGroup-prefix"


def as_deployed(job, cfg=CFG) -> dict[str, str]:
    """What the program gives the job (components/glue_job.py calls exactly this)."""
    connection = cfg.resource_name("postgres") if job.connection else None
    return deployed_arguments(job, cfg.job_settings[job.key], job_names(cfg, job), NAMES.buckets, NAMES.databases,
                              LIBRARY, connection, CA_BUNDLE)


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
        why = (external_code_problem(key) if external_code_argument(key)  # --extra-files: refused as outside code
               else f"no platform-managed argument ({key} is {MANAGED_ARGUMENTS[key]})")
        assert e.value.problems == [f"p.yaml: jobs.a.arguments.{key}: got 'x'; allowed: {why}"]


def test_a_job_built_in_code_cannot_deploy_arguments_that_load_outside_code():
    from dataclasses import replace

    from lakehouse.model.platform import EXTERNAL_CODE_ADVICE

    job = replace(JOBS[0], arguments={"--extra-jars": "s3://elsewhere/x.jar", "--my_arg": "1"})
    with pytest.raises(ConfigError) as e:
        as_deployed(job)
    assert e.value.problems == [
        f"{job.key}: arguments.--extra-jars: got 's3://elsewhere/x.jar'; allowed: no argument that loads code from "
        f"outside the repository (--extra-jars adds Java jars to the job's classpath); {EXTERNAL_CODE_ADVICE}"]


def test_the_managed_set_is_derived_from_the_platform_table():
    assert {a.key for a in PLATFORM_ARGUMENTS} <= set(MANAGED_ARGUMENTS)
    assert len({a.key for a in PLATFORM_ARGUMENTS}) == len(PLATFORM_ARGUMENTS)  # one row per key


# --- logging follows the Glue version -------------------------------------------------------

@pytest.mark.parametrize("job", JOBS, ids=lambda j: j.key)
def test_a_glue_5_job_logs_under_its_own_prefix_without_the_glue_4_flags(job):
    assert CFG.job_settings[job.key].glue_version == "5.0"
    deployed = as_deployed(job)
    assert deployed[LOG_PREFIX] == f"/aws-glue/jobs/{job_names(CFG, job).job}"
    assert set(GLUE4_LOGGING).isdisjoint(deployed)


@pytest.mark.parametrize("job", JOBS, ids=lambda j: j.key)
def test_a_glue_4_job_keeps_continuous_logging_into_its_own_group(job):
    assert CFG_GLUE4.job_settings[job.key].glue_version == "4.0"
    deployed = as_deployed(job, CFG_GLUE4)
    assert {k: deployed.get(k) for k in GLUE4_LOGGING} == {
        "--enable-continuous-cloudwatch-log": "true", "--enable-continuous-log-filter": "true",
        "--continuous-log-logGroup": f"/aws-glue/jobs/{job_names(CFG, job).job}"}
    assert LOG_PREFIX not in deployed
    assert set(deployed) - set(GLUE4_LOGGING) == set(as_deployed(job)) - {LOG_PREFIX}


def test_every_logging_argument_of_either_version_is_managed():
    assert set(GLUE4_LOGGING) | {LOG_PREFIX} <= set(MANAGED_ARGUMENTS)


def test_a_job_gets_exactly_the_log_groups_its_glue_version_writes():
    names = job_names(CFG, JOBS[0])
    group, role = names.log_group, names.role
    assert job_log_groups(group, "sc", role, "5.0") == (f"{group}/error", f"{group}/output")
    assert job_log_groups(group, "sc", role, "4.0") == (
        group, f"{group}-sc", f"/aws-glue/jobs/sc-role/{role}/output", f"/aws-glue/jobs/sc-role/{role}/error")


def test_ops_verify_expects_the_logging_of_the_declared_glue_version():
    job = JOBS[0]
    group = f"/aws-glue/jobs/{job_names(CFG, job).job}"
    assert argument_problems(as_deployed(job, CFG_GLUE4), job, CFG_GLUE4, OUTPUTS) == []
    assert argument_problems(as_deployed(job), job, CFG_GLUE4, OUTPUTS) == [
        "--enable-continuous-cloudwatch-log missing (expected 'true')",
        "--enable-continuous-log-filter missing (expected 'true')",
        f"--continuous-log-logGroup missing (expected {group!r})",
    ]
    assert argument_problems(as_deployed(job, CFG_GLUE4), job, CFG, OUTPUTS) == [
        f"{LOG_PREFIX} missing (expected {group!r})"]


# --- the RDS CA bundle of the jobs on a connection ------------------------------------------

CONNECTION_JOBS = [j for j in JOBS if j.connection]


def test_the_stacks_have_jobs_on_a_connection():
    assert CONNECTION_JOBS and len(CONNECTION_JOBS) < len(JOBS)


@pytest.mark.parametrize("job", JOBS, ids=lambda j: j.key)
def test_jobs_on_a_connection_get_the_ca_bundle_in_their_working_directory_and_its_name(job):
    deployed = as_deployed(job)
    if job.connection:
        assert deployed["--extra-files"] == CA_BUNDLE  # the one file: Glue copies it to driver and executors
        assert deployed["--jdbc_ca_file"] == "rds-ca-bundle.pem" == CA_BUNDLE.rsplit("/", 1)[1]
    else:
        assert "--extra-files" not in deployed and "--jdbc_ca_file" not in deployed


def test_a_job_on_a_connection_without_the_ca_bundle_is_refused():
    job = CONNECTION_JOBS[0]
    with pytest.raises(ConfigError) as e:
        deployed_arguments(job, CFG.job_settings[job.key], job_names(CFG, job), NAMES.buckets, NAMES.databases,
                           LIBRARY, CFG.resource_name("postgres"))
    assert e.value.problems == [f"{job.key}: ca_bundle_uri: got None; allowed: the RDS CA bundle's S3 URI for a "
                                "job on a connection (its database's certificate is verified)"]


def test_extra_files_stays_refused_in_code_too():
    from dataclasses import replace

    job = replace(CONNECTION_JOBS[0], arguments={"--extra-files": "s3://elsewhere/x.py"})
    with pytest.raises(ConfigError) as e:
        as_deployed(job)
    assert e.value.problems == [f"{job.key}: arguments.--extra-files: got 's3://elsewhere/x.py'; allowed: "
                                + external_code_problem("--extra-files")]


def test_ops_verify_wants_exactly_one_bundle_object_under_certs_and_no_other_outside_file():
    job, other = CONNECTION_JOBS[0], next(j for j in JOBS if not j.connection)
    deployed = as_deployed(job)
    certs = f"s3://{NAMES.buckets['scripts']}/certs/"
    expected = f"expected {certs}<16 hex digits>/rds-ca-bundle.pem"
    for wrong in (f"{CA_BUNDLE},s3://elsewhere/x.py", "s3://elsewhere/certs/fedcba9876543210/rds-ca-bundle.pem",
                  f"{certs}fedcba9876543210/other.pem"):
        assert argument_problems({**deployed, "--extra-files": wrong}, job, CFG, OUTPUTS) == [
            f"--extra-files={wrong!r}, {expected}"]
    assert argument_problems({**deployed, "--jdbc_ca_file": "/etc/ssl/certs/ca-certificates.crt"}, job, CFG,
                             OUTPUTS) == ["--jdbc_ca_file='/etc/ssl/certs/ca-certificates.crt', expected "
                                          "'rds-ca-bundle.pem'"]
    assert argument_problems({**as_deployed(other), "--extra-files": CA_BUNDLE}, other, CFG, OUTPUTS) == [
        f"--extra-files={CA_BUNDLE!r}, expected none (it copies files into the job's working directory)"]
