"""The ops tool against moto: a deployment shaped like the stack's outputs, every command run
through `main`, job runs that succeed and fail, and verify catching broken deployments."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import types

import boto3
import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.core.botocore_stubber import MockRawResponse
from moto.moto_api import state_manager
from rich.console import Console

from lakehouse.model.config import WorkflowSettings, load_stack_config
from lakehouse.model.names import job_names, orchestration_names
from lakehouse.model.pipelines import JobSpec
from lakehouse.model.platform import deployed_arguments, iceberg_conf
from lakehouse.model.state_machine import definition
from lakehouse.model.workflow_plan import TriggerPlan, trigger_plan
from lakehouse.ops import aws as ops_aws
from lakehouse.ops import cli as ops
from lakehouse.ops import runs as ops_runs
from lakehouse.ops.aws import OpsError, StackOutputs, connect, load_outputs, parse_sets
from lakehouse.ops.verify import Check, connection_problems, trigger_problems, verify

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "dev"


# --- a deployed dev stack, built the way the Pulumi program is specified to build it ---

def bucket_names(cfg):
    return {role: f"{cfg.resource_name(role)}-{ACCOUNT}"
            for role in ("raw", "bronze", "silver", "gold", "scripts", "temp", "logs")}


def job_arguments_as_deployed(cfg, job, buckets, databases, connection):
    """What the Pulumi program gives the job: lakehouse.model.platform, as GlueJob calls it."""
    return deployed_arguments(job, cfg.job_settings[job.key], job_names(cfg, job), buckets, databases,
                              f"s3://{buckets['scripts']}/lib/lakelib-0123456789abcdef.zip",
                              connection if job.connection else None,
                              f"s3://{buckets['scripts']}/certs/fedcba9876543210/rds-ca-bundle.pem")


def deploy(cfg):
    """Create the stack's resources in moto; returns the stack outputs."""
    kms, s3, glue = (boto3.client(s, region_name=REGION) for s in ("kms", "s3", "glue"))
    key_arn = kms.create_key(Description="lake")["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key_arn)
    buckets = bucket_names(cfg)
    for role, name in buckets.items():
        s3.create_bucket(Bucket=name)
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
             "BucketKeyEnabled": True}]})
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True,
            "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_versioning(Bucket=buckets["raw"], VersioningConfiguration={"Status": "Enabled"})
    sec = cfg.resource_name("security")
    glue.create_security_configuration(Name=sec, EncryptionConfiguration={
        "S3Encryption": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": key_arn}],
        "CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": key_arn},
        "JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": key_arn}})
    databases = {z: cfg.database_name(z) for z in ("bronze", "silver", "gold")}
    for zone, db in databases.items():
        glue.create_database(DatabaseInput={"Name": db, "LocationUri": f"s3://{buckets[zone]}/"})
    extra_outputs = {}
    connection = cfg.resource_name("postgres")
    if cfg.needs_connection:  # the stack's Glue JDBC connection (GlueRdsConnection), as the program exports it
        endpoint = f"{connection}.abc123xyz.{REGION}.rds.amazonaws.com:5432"
        secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-postgres-AbCdEf"
        glue.create_connection(ConnectionInput={
            "Name": connection, "ConnectionType": "JDBC", "ConnectionProperties": {
                "JDBC_CONNECTION_URL": f"jdbc:postgresql://{endpoint}/{cfg.database.name}", "JDBC_ENFORCE_SSL": "true",
                "SECRET_ID": secret}})
        extra_outputs = {
            "connection": {"name": connection, "jdbcUrl": f"jdbc:postgresql://{endpoint}/{cfg.database.name}",
                           "vpcId": "vpc-0123456789abcdef0", "subnetId": "subnet-0aaaaaaaaaaaaaaa1",
                           "securityGroupId": "sg-0123456789abcdef0"},
            "database": {"endpoint": endpoint, "name": cfg.database.name, "secretArn": secret}}
    jobs, workflows, machines, crawlers = {}, {}, {}, {}
    alerts = f"arn:aws:sns:{REGION}:{ACCOUNT}:{cfg.resource_name('alerts')}"
    for pipeline in cfg.pipelines:
        for job in pipeline.jobs:
            s = cfg.job_settings[job.key]
            name = cfg.resource_name(pipeline.name, job.name)
            arguments = job_arguments_as_deployed(cfg, job, buckets, databases, connection)
            on_connection = {}
            if job.connection:  # as GlueJob attaches it: the connection and --connection_name
                on_connection = {"Connections": {"Connections": [connection]}}
            glue.create_job(
                Name=name, Role=f"arn:aws:iam::{ACCOUNT}:role/{name}",
                Command={"Name": "glueetl", "ScriptLocation": f"s3://{buckets['scripts']}/{job.script}",
                         "PythonVersion": "3"},
                DefaultArguments=arguments,
                GlueVersion=s.glue_version, WorkerType=s.worker_type, NumberOfWorkers=s.number_of_workers,
                Timeout=s.timeout_minutes, MaxRetries=s.max_retries, ExecutionClass=s.execution_class,
                ExecutionProperty={"MaxConcurrentRuns": s.max_concurrent_runs}, SecurityConfiguration=sec,
                **on_connection)
            jobs[job.key] = name
        if pipeline.orchestrator == "step_functions":  # as PipelineStateMachine (and GlueCrawler) create it
            n = orchestration_names(cfg, pipeline.name, sec)
            if pipeline.crawler is not None:
                glue.create_crawler(Name=n.crawler, Role=f"arn:aws:iam::{ACCOUNT}:role/{n.crawler_role}",
                                    DatabaseName=n.raw_database, Targets={"S3Targets": [
                                        {"Path": f"s3://{buckets['raw']}/{p}"} for p in pipeline.crawler.prefixes]})
                crawlers[pipeline.name] = n.crawler
            document = definition(pipeline, {j.name: jobs[j.key] for j in pipeline.jobs}, alerts,
                                  crawlers.get(pipeline.name))
            machines[pipeline.name] = sfn_client().create_state_machine(
                name=n.state_machine, type="STANDARD", definition=json.dumps(document),
                roleArn=f"arn:aws:iam::{ACCOUNT}:role/{n.state_machine_role}",
                loggingConfiguration={"level": "ALL", "includeExecutionData": False, "destinations": [
                    {"cloudWatchLogsLogGroup": {"logGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
                                                               f"{n.state_machine_log_group}:*"}}]},
                tracingConfiguration={"enabled": True},
                encryptionConfiguration={"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": key_arn,
                                         "kmsDataKeyReusePeriodSeconds": 300})["stateMachineArn"]
            continue
        workflow = cfg.resource_name(pipeline.name)
        glue.create_workflow(Name=workflow, MaxConcurrentRuns=cfg.workflow.max_concurrent_runs)
        for plan in trigger_plan(pipeline):
            kwargs = dict(Name=f"{workflow}-{plan.suffix}", WorkflowName=workflow,
                          Actions=[{"JobName": jobs[f"{pipeline.name}.{a}"]} for a in plan.actions])
            if plan.kind == "START":
                kwargs["Type"] = "ON_DEMAND"
            else:
                kwargs.update(Type="CONDITIONAL", StartOnCreation=True, Predicate={"Logical": "AND", "Conditions": [
                    {"LogicalOperator": "EQUALS", "JobName": jobs[f"{pipeline.name}.{c}"], "State": "SUCCEEDED"}
                    for c in plan.conditions]})
            glue.create_trigger(**kwargs)
        workflows[pipeline.name] = workflow
    return {
        "region": REGION, "kmsKeyArn": key_arn, "buckets": buckets, "databases": databases, "jobs": jobs,
        "securityConfiguration": sec, "workflows": workflows, "alertsTopicArn": alerts, **extra_outputs,
        **({"stateMachines": machines} if machines else {}), **({"crawlers": crawlers} if crawlers else {}),
    }


def sfn_client():
    return boto3.client("stepfunctions", region_name=REGION)


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Fake credentials only; no AWS config files of the machine; IMDS off."""
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
                 "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
                 "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-creds"),
                 "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(k, raising=False)


@pytest.fixture
def stack(aws_env, tmp_path):
    """(config, outputs, path of outputs.json) of a dev stack deployed in moto."""
    cfg = load_stack_config(STACK)
    with mock_aws():
        state_manager.set_transition("glue::job_run", {"progression": "manual", "times": 1})
        try:
            outputs = deploy(cfg)
            path = tmp_path / "outputs.json"
            path.write_text(json.dumps(outputs))
            yield cfg, outputs, path
        finally:
            state_manager.unset_transition("glue::job_run")


def run_cli(*argv):
    """main() with a wide, plain console; returns (exit code, text printed)."""
    out = io.StringIO()
    console = Console(file=out, width=400, color_system=None, force_terminal=False)
    code = ops.main(list(argv), console=console, sleep=lambda s: None)
    return code, out.getvalue()


def rows_of(text):
    """Table rows as lists of stripped cells (rich's ASCII-free box lines split on │)."""
    return [[c.strip() for c in line.strip().strip("│").split("│")]
            for line in text.splitlines() if line.count("│") >= 3]


# --- Glue workflow runs: moto starts no jobs and has no run graph, so this plays Glue ---

class WorkflowEngine:
    """Replaces ops_runs.fetch_workflow_run. On each poll it fires the workflow's triggers
    whose predicates hold (reading the triggers deployed in moto), starts their jobs with
    moto's start_job_run, and returns the run with a graph as GetWorkflowRun would.
    `fail` maps Glue job names to the error their run ends with."""

    def __init__(self, fail=None):
        self.fail = fail or {}
        self.fired: set[str] = set()
        self.job_runs: dict[str, str] = {}
        self.polls = 0

    def __call__(self, glue, workflow, run_id):
        self.polls += 1
        run = glue.get_workflow_run(Name=workflow, RunId=run_id)["Run"]
        current = {}
        for job, jr_id in self.job_runs.items():
            jr = glue.get_job_run(JobName=job, RunId=jr_id)["JobRun"]
            if job in self.fail and jr["JobRunState"] == "SUCCEEDED":
                jr = {**jr, "JobRunState": "FAILED", "ErrorMessage": self.fail[job]}
            current[job] = jr
        triggers = [t for t in glue.get_triggers()["Triggers"] if t.get("WorkflowName") == workflow]
        started = False
        for t in triggers:
            conds = (t.get("Predicate") or {}).get("Conditions", [])
            ready = t["Type"] == "ON_DEMAND" or (t["State"] == "ACTIVATED" and all(
                current.get(c["JobName"], {}).get("JobRunState") == c["State"] for c in conds))
            if t["Name"] not in self.fired and ready:
                self.fired.add(t["Name"])
                for a in t["Actions"]:
                    self.job_runs[a["JobName"]] = glue.start_job_run(JobName=a["JobName"])["JobRunId"]
                started = True
        jobs = {a["JobName"] for t in triggers for a in t["Actions"]}
        running = any(jr["JobRunState"] not in ops_runs.JOB_TERMINAL for jr in current.values())
        states = [jr["JobRunState"] for jr in current.values()]
        return {**run, "Status": "RUNNING" if started or running else "COMPLETED",
                "Statistics": {"TotalActions": len(jobs), "SucceededActions": states.count("SUCCEEDED"),
                               "FailedActions": states.count("FAILED")},
                "Graph": {"Nodes": [{"Type": "JOB", "Name": j,
                                     "JobDetails": {"JobRuns": [current[j]] if j in current else []}}
                                    for j in sorted(jobs)]}}


# --- upload ----------------------------------------------------------------------------

def write_batch(root, **files):
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_upload_puts_kms_encrypted_objects_keyed_by_relative_path_with_their_sha256(stack, tmp_path):
    cfg, outputs, path = stack
    data = write_batch(tmp_path / "fhir", **{"batch-0001/Patient.ndjson": '{"id": "p1"}\n',
                                             "batch-0001/Encounter.ndjson": '{"id": "e1"}\n',
                                             "batch-0001/.DS_Store": "x"})
    code, out = run_cli("--outputs", str(path), "upload", str(data), "--prefix", "fhir/")
    assert code == 0, out
    s3 = boto3.client("s3", region_name=REGION)
    raw = outputs["buckets"]["raw"]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=raw)["Contents"])
    assert keys == ["fhir/batch-0001/Encounter.ndjson", "fhir/batch-0001/Patient.ndjson"]
    head = s3.head_object(Bucket=raw, Key="fhir/batch-0001/Patient.ndjson")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == outputs["kmsKeyArn"]
    assert head["Metadata"] == {"sha256": hashlib.sha256(b'{"id": "p1"}\n').hexdigest()}
    assert "2 uploaded, 0 replaced, 0 unchanged" in out


def test_upload_again_is_a_no_op(stack, tmp_path):
    cfg, outputs, path = stack
    data = write_batch(tmp_path / "fhir", **{"batch-0001/Patient.ndjson": '{"id": "p1"}\n'})
    assert run_cli("--outputs", str(path), "upload", str(data), "--prefix", "fhir")[0] == 0
    code, out = run_cli("--outputs", str(path), "upload", str(data), "--prefix", "fhir")
    assert code == 0
    assert "0 uploaded, 0 replaced, 1 unchanged" in out
    versions = boto3.client("s3", region_name=REGION).list_object_versions(Bucket=outputs["buckets"]["raw"])
    assert [v["Key"] for v in versions["Versions"]] == ["fhir/batch-0001/Patient.ndjson"]  # one put only


def test_upload_refuses_changed_content_unless_replace(stack, tmp_path):
    cfg, outputs, path = stack
    data = write_batch(tmp_path / "fhir", **{"batch-0001/Patient.ndjson": "v1\n"})
    assert run_cli("--outputs", str(path), "upload", str(data), "--prefix", "fhir/")[0] == 0
    (data / "batch-0001/Patient.ndjson").write_text("v2\n")
    code, out = run_cli("--outputs", str(path), "upload", str(data), "--prefix", "fhir/")
    raw = outputs["buckets"]["raw"]
    assert code == 2
    assert f"s3://{raw}/fhir/batch-0001/Patient.ndjson" in out and "--replace" in out
    s3 = boto3.client("s3", region_name=REGION)
    assert s3.get_object(Bucket=raw, Key="fhir/batch-0001/Patient.ndjson")["Body"].read() == b"v1\n"
    code, out = run_cli("--outputs", str(path), "upload", str(data), "--prefix", "fhir/", "--replace")
    assert code == 0 and "0 uploaded, 1 replaced, 0 unchanged" in out
    assert s3.get_object(Bucket=raw, Key="fhir/batch-0001/Patient.ndjson")["Body"].read() == b"v2\n"


def test_upload_of_a_missing_path_names_it(stack, tmp_path):
    _, _, path = stack
    code, out = run_cli("--outputs", str(path), "upload", str(tmp_path / "nope"))
    assert code == 2
    assert f"error: {tmp_path / 'nope'}: no such file or folder" in out


# --- start, watch, runs ------------------------------------------------------------------

def test_start_workflow_prints_the_run_id(stack):
    cfg, outputs, path = stack
    code, out = run_cli("--outputs", str(path), "start", "fhir")
    runs = boto3.client("glue", region_name=REGION).get_workflow_runs(Name="lakehouse-dev-fhir")["Runs"]
    assert code == 0
    assert len(runs) == 1
    assert f"started lakehouse-dev-fhir run {runs[0]['WorkflowRunId']}" in out


def test_start_job_watch_follows_moto_state_progression_to_success(stack):
    cfg, outputs, path = stack
    code, out = run_cli("--outputs", str(path), "start", "fhir", "--job", "bronze", "--watch", "--interval", "0")
    assert code == 0, out
    run = boto3.client("glue", region_name=REGION).get_job_runs(JobName="lakehouse-dev-fhir-bronze")["JobRuns"][0]
    # moto reports ExecutionTime 123 s; dev runs 2 G.1X workers -> ~246 DPU-seconds (estimated)
    assert ["bronze", "SUCCEEDED", "0", "2m03s", "~246", run["Id"], ""] in rows_of(out)
    assert f"SUCCEEDED: job lakehouse-dev-fhir-bronze run {run['Id']} ended SUCCEEDED" in out


def test_watch_on_a_terminal_redraws_one_live_table(stack):
    cfg, outputs, path = stack
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=True, color_system=None)
    code = ops.main(["--outputs", str(path), "start", "fhir", "--job", "gold", "--watch", "--interval", "0"],
                    console=console, sleep=lambda s: None)
    text = out.getvalue()
    assert code == 0
    assert "job lakehouse-dev-fhir-gold: gold" not in text  # no log lines on a terminal
    assert "\x1b[" in text and "SUCCEEDED: job lakehouse-dev-fhir-gold run jr_" in text  # cursor moves, final line


def test_watch_reports_a_failed_job_run_and_exits_1(stack, monkeypatch):
    cfg, outputs, path = stack
    real = ops_runs.fetch_job_run

    def failing(glue, job, run_id):
        run = real(glue, job, run_id)
        if run["JobRunState"] == "SUCCEEDED":
            return {**run, "JobRunState": "FAILED", "ErrorMessage": "AnalysisException: table not found",
                    "DPUSeconds": 180.0}
        return run

    monkeypatch.setattr(ops_runs, "fetch_job_run", failing)
    assert run_cli("--outputs", str(path), "start", "fhir", "--job", "silver")[0] == 0
    code, out = run_cli("--outputs", str(path), "watch", "fhir", "--job", "silver", "--interval", "0")
    run_id = boto3.client("glue", region_name=REGION).get_job_runs(
        JobName="lakehouse-dev-fhir-silver")["JobRuns"][0]["Id"]
    assert code == 1
    assert ["silver", "FAILED", "0", "2m03s", "180", run_id, "AnalysisException: table not found"] in rows_of(out)
    assert (f"FAILED: job lakehouse-dev-fhir-silver run {run_id} ended FAILED; "
            "silver: FAILED (AnalysisException: table not found)") in out


def test_watch_workflow_run_shows_every_job_in_dag_order_until_it_completes(stack, monkeypatch):
    cfg, outputs, path = stack
    engine = WorkflowEngine()
    monkeypatch.setattr(ops_runs, "fetch_workflow_run", engine)
    code, out = run_cli("--outputs", str(path), "start", "fhir", "--watch", "--interval", "0")
    assert code == 0, out
    final = [r[:4] for r in rows_of(out) if r[0] in ("bronze", "silver", "gold")]
    assert final == [["bronze", "SUCCEEDED", "0", "2m03s"], ["silver", "SUCCEEDED", "0", "2m03s"],
                     ["gold", "SUCCEEDED", "0", "2m03s"]]
    assert engine.fired == {"lakehouse-dev-fhir-start", "lakehouse-dev-fhir-after-silver",
                            "lakehouse-dev-fhir-after-bronze", "lakehouse-dev-fhir-after-gold"}  # gold -> maintain
    progress = [line for line in out.splitlines() if line.startswith("workflow lakehouse-dev-fhir: ")]
    assert [p.split(": ")[1] for p in progress if ": gold " in p] == [
        "gold NOT STARTED", "gold RUNNING", "gold SUCCEEDED"]
    assert (progress.index("workflow lakehouse-dev-fhir: bronze SUCCEEDED")
            < progress.index("workflow lakehouse-dev-fhir: silver RUNNING"))
    assert "SUCCEEDED: workflow lakehouse-dev-fhir run wr_" in out


def test_watch_workflow_run_with_a_failed_job_exits_1_and_names_it(stack, monkeypatch):
    cfg, outputs, path = stack
    monkeypatch.setattr(ops_runs, "fetch_workflow_run",
                        WorkflowEngine(fail={"lakehouse-dev-fhir-silver": "input != accepted + quarantined"}))
    assert run_cli("--outputs", str(path), "start", "fhir")[0] == 0
    code, out = run_cli("--outputs", str(path), "watch", "fhir", "--interval", "0")  # the latest run
    assert code == 1
    final = [r[:2] + r[-1:] for r in rows_of(out) if r[0] in ("bronze", "silver", "gold")]
    assert final == [["bronze", "SUCCEEDED", ""], ["silver", "FAILED", "input != accepted + quarantined"],
                     ["gold", "NOT STARTED", ""]]
    assert "ended COMPLETED; silver: FAILED (input != accepted + quarantined)" in out


def test_workflow_run_that_completes_without_running_a_job_is_a_failure():
    run = {"WorkflowRunId": "wr_1", "Status": "COMPLETED", "Graph": {"Nodes": [
        {"Type": "JOB", "Name": "w-bronze", "JobDetails": {"JobRuns": [{"Id": "jr_1", "JobRunState": "SUCCEEDED"}]}},
        {"Type": "JOB", "Name": "w-silver", "JobDetails": {}}]}}
    status = ops_runs.workflow_status("w", run, [("bronze", "w-bronze"), ("silver", "w-silver")])
    assert status.done and status.problems == ("silver: never started (is its trigger ACTIVATED?)",)


def test_latest_attempt_of_a_retried_job_counts():
    from datetime import datetime, timezone
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    runs = [{"Id": "jr_a", "Attempt": 0, "JobRunState": "FAILED", "StartedOn": t0, "ExecutionTime": 60,
             "ErrorMessage": "OOM", "NumberOfWorkers": 10, "WorkerType": "G.2X"},
            {"Id": "jr_b", "Attempt": 1, "JobRunState": "SUCCEEDED", "StartedOn": t0, "ExecutionTime": 90,
             "DPUSeconds": 1234.5}]
    run = {"WorkflowRunId": "wr_1", "Status": "COMPLETED",
           "Graph": {"Nodes": [{"Type": "JOB", "Name": "w-gold", "JobDetails": {"JobRuns": runs}}]}}
    status = ops_runs.workflow_status("w", run, [("gold", "w-gold")])
    assert status.rows == (ops_runs.JobRow("gold", "jr_b", "SUCCEEDED", 1, 90.0, 1234.5, False, ""),)
    assert not status.failed
    first = ops_runs.job_row("gold", runs[0], t0)
    assert (first.dpu_seconds, first.dpu_estimated) == (1200.0, True)  # 60 s x 10 workers x 2 DPU


def test_runs_lists_recent_workflow_and_job_runs(stack):
    cfg, outputs, path = stack
    glue = boto3.client("glue", region_name=REGION)
    first = glue.start_workflow_run(Name="lakehouse-dev-fhir")["RunId"]
    second = glue.start_workflow_run(Name="lakehouse-dev-fhir")["RunId"]
    code, out = run_cli("--outputs", str(path), "runs", "fhir")
    assert code == 0
    ids = [r[0] for r in rows_of(out) if r[0].startswith("wr_")]
    assert sorted(ids) == sorted([first, second])
    assert all(r[2] == "RUNNING" for r in rows_of(out) if r[0].startswith("wr_"))
    job_run = glue.start_job_run(JobName="lakehouse-dev-fhir-gold")["JobRunId"]
    code, out = run_cli("--outputs", str(path), "runs", "fhir", "--job", "gold", "--limit", "5")
    assert code == 0
    assert [r[0] for r in rows_of(out) if r[0].startswith("jr_")] == [job_run]


def test_watch_without_runs_says_how_to_start_one(stack):
    _, _, path = stack
    code, out = run_cli("--outputs", str(path), "watch", "fhir", "--job", "gold")
    assert code == 2
    assert "lakehouse-dev-fhir-gold has no runs yet; start one: python -m lakehouse.ops start fhir --job gold" in out


# --- verify ------------------------------------------------------------------------------

def test_verify_passes_on_a_deployment_matching_the_declaration(stack):
    cfg, outputs, path = stack
    code, out = run_cli("--outputs", str(path), "--stack", STACK, "verify")
    assert code == 0, out
    rows = rows_of(out)
    checks = {(r[0], r[1]) for r in rows if r[2] == "PASS"}
    assert ("trigger", "lakehouse-dev-fhir-start") in checks
    assert ("trigger", "lakehouse-dev-fhir-after-bronze") in checks
    assert ("trigger", "lakehouse-dev-fhir-after-silver") in checks
    assert ("bucket kms encryption", f"raw: {outputs['buckets']['raw']}") in checks
    assert ("job arguments", "fhir.gold: lakehouse-dev-fhir-gold") in checks
    assert not [r for r in rows if r[2] == "FAIL"]
    assert "passed, 0 failed" in out


def failures(outputs, cfg):
    aws = connect(StackOutputs(outputs, "test"), None, None)
    return [c for c in verify(aws, StackOutputs(outputs, "test"), cfg) if not c.ok]


def test_verify_fails_for_a_missing_trigger_and_a_bucket_without_kms(stack):
    cfg, outputs, path = stack
    glue, s3 = boto3.client("glue", region_name=REGION), boto3.client("s3", region_name=REGION)
    glue.delete_trigger(Name="lakehouse-dev-fhir-after-silver")
    silver = outputs["buckets"]["silver"]
    s3.put_bucket_encryption(Bucket=silver, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    assert failures(outputs, cfg) == [
        Check("bucket kms encryption", f"silver: {silver}", False,
              "default encryption AES256, expected aws:kms with the stack key"),
        Check("trigger", "lakehouse-dev-fhir-after-silver", False,
              "missing: expected CONDITIONAL starting ['lakehouse-dev-fhir-gold'] "
              "when lakehouse-dev-fhir-silver SUCCEEDED"),
    ]
    code, out = run_cli("--outputs", str(path), "--stack", STACK, "verify")
    assert code == 1
    assert ["trigger", "lakehouse-dev-fhir-after-silver", "FAIL",
            "missing: expected CONDITIONAL starting ['lakehouse-dev-fhir-gold'] "
            "when lakehouse-dev-fhir-silver SUCCEEDED"] in rows_of(out)
    assert "2 failed" in out


def test_verify_names_wrong_predicates_inactive_triggers_and_extra_triggers(stack):
    cfg, outputs, path = stack
    glue = boto3.client("glue", region_name=REGION)
    glue.delete_trigger(Name="lakehouse-dev-fhir-after-bronze")
    glue.create_trigger(Name="lakehouse-dev-fhir-after-bronze", WorkflowName="lakehouse-dev-fhir", Type="CONDITIONAL",
                        Actions=[{"JobName": "lakehouse-dev-fhir-silver"}],
                        Predicate={"Logical": "ANY", "Conditions": [
                            {"LogicalOperator": "EQUALS", "JobName": "lakehouse-dev-fhir-bronze", "State": "FAILED"}]})
    glue.create_trigger(Name="lakehouse-dev-fhir-manual", WorkflowName="lakehouse-dev-fhir", Type="ON_DEMAND",
                        Actions=[{"JobName": "lakehouse-dev-fhir-gold"}])
    assert failures(outputs, cfg) == [
        Check("trigger", "lakehouse-dev-fhir-after-bronze", False,
              "predicate logical ANY, expected AND; conditions [lakehouse-dev-fhir-bronze EQUALS FAILED], expected "
              "[lakehouse-dev-fhir-bronze EQUALS SUCCEEDED]; state CREATED, expected ACTIVATED "
              "(CONDITIONAL triggers fire only when ACTIVATED)"),
        Check("trigger", "lakehouse-dev-fhir-manual", False,
              "not in the pipeline's trigger plan (left over or hand-made)"),
    ]


def test_start_trigger_must_match_the_configured_start_mode():
    plan = TriggerPlan("start", "START", ("bronze",))
    physical = {"bronze": "w-bronze"}
    scheduled = WorkflowSettings("SCHEDULED", "cron(0 2 * * ? *)", 10, 900, 1)
    on_demand = {"Name": "w-start", "Type": "ON_DEMAND", "State": "CREATED", "Actions": [{"JobName": "w-bronze"}]}
    assert trigger_problems(plan, on_demand, physical, scheduled) == [
        "type ON_DEMAND, expected SCHEDULED",
        "state CREATED, expected ACTIVATED (SCHEDULED triggers fire only when ACTIVATED)"]
    hourly = {**on_demand, "Type": "SCHEDULED", "Schedule": "cron(0 * * * ? *)", "State": "ACTIVATED"}
    assert trigger_problems(plan, hourly, physical, scheduled) == [
        "schedule 'cron(0 * * * ? *)', expected 'cron(0 2 * * ? *)'"]
    event = WorkflowSettings("EVENT", "", 10, 900, 1)
    deployed = {**on_demand, "Type": "EVENT", "State": "DEACTIVATED",
                "EventBatchingCondition": {"BatchSize": 1, "BatchWindow": 900}}
    assert trigger_problems(plan, deployed, physical, event) == [
        "event batching (size, window) (1, 900), expected (10, 900)",
        "state DEACTIVATED, expected CREATED or ACTIVATED (EVENT triggers)"]
    created = {**deployed, "State": "CREATED", "EventBatchingCondition": {"BatchSize": 10, "BatchWindow": 900}}
    assert trigger_problems(plan, created, physical, event) == []  # Glue keeps EVENT triggers CREATED
    assert trigger_problems(plan, on_demand, physical, WorkflowSettings("ON_DEMAND", "", 10, 900, 1)) == []


def test_verify_checks_jobs_security_configuration_and_public_access(stack):
    cfg, outputs, path = stack
    glue, s3 = boto3.client("glue", region_name=REGION), boto3.client("s3", region_name=REGION)
    gold = glue.get_job(JobName="lakehouse-dev-fhir-gold")["Job"]
    args = {k: v for k, v in gold["DefaultArguments"].items() if k != "--silver_database"}
    args["--datalake-formats"] = "delta"
    args["--enable-auto-scaling"] = "true"
    args["--conf"] = "spark.sql.catalog.spark_catalog=org.apache.iceberg.spark.SparkSessionCatalog"
    gold_bucket = f"s3://{outputs['buckets']['gold']}/"
    glue.delete_job(JobName="lakehouse-dev-fhir-gold")  # moto has no update_job
    glue.create_job(
        Name="lakehouse-dev-fhir-gold", Role=gold["Role"], Command=gold["Command"], DefaultArguments=args,
        GlueVersion="4.0", WorkerType="G.1X", NumberOfWorkers=2, Timeout=60, MaxRetries=0, ExecutionClass="FLEX",
        ExecutionProperty={"MaxConcurrentRuns": 1})
    glue.delete_security_configuration(Name=outputs["securityConfiguration"])
    glue.create_security_configuration(Name=outputs["securityConfiguration"], EncryptionConfiguration={
        "S3Encryption": [{"S3EncryptionMode": "SSE-S3"}],
        "CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": outputs["kmsKeyArn"]},
        "JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "DISABLED"}})
    s3.delete_public_access_block(Bucket=outputs["buckets"]["gold"])
    found = failures(outputs, cfg)
    assert found == [
        Check("bucket public access block", f"gold: {outputs['buckets']['gold']}", False, "no public access block"),
        Check("security configuration", "lakehouse-dev-security", False,
              "S3 SSE-S3, expected SSE-KMS; job bookmarks DISABLED, expected CSE-KMS"),
        Check("job security configuration", "fhir.gold: lakehouse-dev-fhir-gold", False,
              "None, expected 'lakehouse-dev-security'"),
        Check("job glue version", "fhir.gold: lakehouse-dev-fhir-gold", False, "'4.0', expected '5.0' (stack config)"),
        Check("job arguments", "fhir.gold: lakehouse-dev-fhir-gold", False,
              "--enable-auto-scaling='true', expected 'false'; --datalake-formats='delta', expected 'iceberg'; "
              f"--conf={args['--conf']!r}, expected {iceberg_conf(gold_bucket)!r}; "
              "--silver_database missing (expected 'lakehouse_dev_silver')"),
    ]


def test_verify_reports_resources_missing_from_the_region(stack):
    cfg, outputs, path = stack
    glue = boto3.client("glue", region_name=REGION)
    glue.delete_workflow(Name="lakehouse-dev-fhir")
    glue.delete_job(JobName="lakehouse-dev-fhir-bronze")
    boto3.client("s3", region_name=REGION).delete_bucket(Bucket=outputs["buckets"]["temp"])
    found = failures(outputs, cfg)
    assert Check("bucket", f"temp: {outputs['buckets']['temp']}", False, "not found") in found
    assert Check("workflow", "lakehouse-dev-fhir", False, "not found in region us-east-1") in found
    assert Check("job", "fhir.bronze: lakehouse-dev-fhir-bronze", False, "not found in region us-east-1") in found


def test_verify_needs_the_stack_name(stack):
    _, _, path = stack
    code, out = run_cli("--outputs", str(path), "verify")
    assert code == 2 and "verify needs --stack NAME" in out


# --- outputs, credentials, region, throttling -----------------------------------------

def test_unknown_output_names_the_missing_key_and_the_keys_present(stack, tmp_path):
    cfg, outputs, _ = stack
    partial = {k: v for k, v in outputs.items() if k != "workflows"}
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(partial))
    code, out = run_cli("--outputs", str(path), "start", "fhir")
    assert code == 2
    assert sorted(partial) == ["alertsTopicArn", "buckets", "connection", "crawlers", "database", "databases", "jobs",
                               "kmsKeyArn", "region", "securityConfiguration", "stateMachines"]
    # dev deploys climate (connection and database) and orders (crawler, state machine) too
    assert f"error: stack outputs ({path}) have no 'workflows'; keys present: {', '.join(sorted(partial))}." in out
    code, out = run_cli("--outputs", str(path), "start", "fhir", "--job", "platinum")
    assert code == 2
    present = ", ".join(sorted(f"{p.name}.{j.name}" for p in cfg.pipelines for j in p.jobs))
    assert f"stack output 'jobs' ({path}) has no 'fhir.platinum'; present: {present}" in out


def test_set_options_nest_only_at_the_first_dot():
    assert parse_sets(["region=eu-west-1", "jobs.fhir.bronze=x-bronze", "buckets.raw=r"]) == {
        "region": "eu-west-1", "jobs": {"fhir.bronze": "x-bronze"}, "buckets": {"raw": "r"}}
    with pytest.raises(OpsError, match=r"--set 'region': expected KEY=VALUE"):
        parse_sets(["region"])


def test_outputs_come_from_the_pulumi_cli_when_installed():
    calls = []

    def run(cmd, **kw):
        calls.append((cmd, kw["cwd"]))
        return subprocess.CompletedProcess(cmd, 0, stdout='{"region": "eu-west-1", "jobs": {"fhir.bronze": "a"}}',
                                           stderr="")

    outputs = load_outputs("prod", None, ["jobs.fhir.gold=b"], which=lambda name: "/usr/bin/pulumi", run=run)
    assert calls[0][0] == ["pulumi", "stack", "output", "--json", "--stack", "prod"]
    assert outputs.values == {"region": "eu-west-1", "jobs": {"fhir.bronze": "a", "fhir.gold": "b"}}

    def failing(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 255, stdout="", stderr="error: no stack named 'qa' found")

    with pytest.raises(OpsError,
                       match=r"`pulumi stack output --json --stack qa` failed: error: no stack named 'qa' found"):
        load_outputs("qa", None, [], which=lambda name: "/usr/bin/pulumi", run=failing)


def test_missing_credentials_say_how_to_configure_them(aws_env, tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"region": REGION, "workflows": {"fhir": "lakehouse-dev-fhir"}}))
    code, out = run_cli("--outputs", str(path), "start", "fhir")
    assert code == 2
    assert "error: no AWS credentials found. Configure them one of these ways" in out
    assert "aws configure --profile NAME" in out


def test_unknown_profile_lists_the_configured_ones(aws_env, tmp_path):
    code, out = run_cli("--set", "region=us-east-1", "--profile", "prod-admin", "runs", "fhir")
    assert code == 2
    assert "error: --profile 'prod-admin': no such AWS profile; profiles configured: none" in out


def test_resources_missing_in_the_outputs_region_name_that_region(stack, tmp_path):
    cfg, outputs, _ = stack
    path = tmp_path / "eu.json"
    path.write_text(json.dumps({**outputs, "region": "eu-west-1"}))
    code, out = run_cli("--outputs", str(path), "start", "fhir")
    assert code == 2
    assert ("note: using region eu-west-1 (the stack's 'region' output); "
            "your AWS configuration defaults to us-east-1") in out
    assert ("error: Glue workflow 'lakehouse-dev-fhir' not found in region eu-west-1 "
            "(the stack's 'region' output).") in out


def test_region_option_contradicting_the_outputs_is_refused(stack):
    _, _, path = stack
    code, out = run_cli("--outputs", str(path), "--region", "eu-west-1", "runs", "fhir")
    assert code == 2
    assert "error: --region eu-west-1 does not match the stack's region us-east-1" in out


def throttle(times, calls):
    """A before-send hook answering the first `times` Glue calls with ThrottlingException."""
    def handler(request, **kwargs):
        calls.append(request.url)
        if len(calls) <= times:
            body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
            return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException"}, MockRawResponse(body))
        return None
    return handler


@pytest.fixture
def throttled(monkeypatch):
    """Patch client creation so every glue client is throttled; record botocore's backoff sleeps."""
    state = {"times": 0, "calls": [], "sleeps": []}
    real = ops_aws.Aws.client

    def client(self, service):
        new = service not in self._clients
        c = real(self, service)
        if new and service == "glue":
            c.meta.events.register_first("before-send.glue", throttle(state["times"], state["calls"]))
        return c

    monkeypatch.setattr(ops_aws.Aws, "client", client)
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=state["sleeps"].append))
    return state


def test_throttled_calls_are_retried_by_botocore_with_backoff(stack, throttled):
    _, _, path = stack
    throttled["times"] = 2
    code, out = run_cli("--outputs", str(path), "--max-attempts", "3", "start", "fhir")
    assert code == 0, out
    assert len(throttled["calls"]) == 3  # two throttled attempts, then moto answers
    assert len(throttled["sleeps"]) == 2 and all(s >= 0 for s in throttled["sleeps"])
    assert "started lakehouse-dev-fhir run wr_" in out


def test_throttling_beyond_max_attempts_is_a_clear_error(stack, throttled):
    _, _, path = stack
    throttled["times"] = 99
    code, out = run_cli("--outputs", str(path), "--retry-mode", "adaptive", "--max-attempts", "2", "start", "fhir")
    assert code == 2
    assert len(throttled["calls"]) == 2
    assert ("error: AWS throttled StartWorkflowRun and it still failed after 2 attempts (retry mode adaptive): "
            "wait and rerun, or pass --retry-mode adaptive / a larger --max-attempts") in out


def test_clients_carry_the_retry_configuration(aws_env):
    aws = connect(StackOutputs({"region": "eu-central-1"}, "test"), None, None, "adaptive", 7)
    # botocore counts retries in "max_attempts" and every call in "total_max_attempts"
    assert aws.glue.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 7}
    with pytest.raises(OpsError, match=r"--retry-mode 'legacy': allowed standard \| adaptive"):
        connect(StackOutputs({"region": "eu-central-1"}, "test"), None, None, "legacy", 7)
    assert aws.glue.meta.region_name == "eu-central-1"


def test_upload_without_list_permission_explains_the_403(stack, tmp_path, monkeypatch):
    cfg, outputs, path = stack
    real = ops_aws.Aws.client

    def client(self, service):
        new = service not in self._clients
        c = real(self, service)
        if new and service == "s3":  # S3 answers HeadObject of a missing key with 403 without s3:ListBucket
            c.meta.events.register_first("before-send.s3.HeadObject", lambda request, **kw: AWSResponse(
                request.url, 403, {}, MockRawResponse(b"")))
        return c

    monkeypatch.setattr(ops_aws.Aws, "client", client)
    data = write_batch(tmp_path / "fhir", **{"batch-0001/Patient.ndjson": "{}\n"})
    code, out = run_cli("--outputs", str(path), "upload", str(data), "--prefix", "fhir/")
    assert code == 2
    assert (f"error: access denied reading s3://{outputs['buckets']['raw']}/fhir/batch-0001/Patient.ndjson "
            "(HeadObject): "
            "uploading needs s3:GetObject, s3:PutObject and s3:ListBucket on the raw bucket") in out


def test_access_log_target_bucket_may_use_sse_s3_but_no_other_bucket(stack):
    cfg, outputs, path = stack
    s3 = boto3.client("s3", region_name=REGION)
    logs, raw = outputs["buckets"]["logs"], outputs["buckets"]["raw"]
    s3.put_bucket_encryption(Bucket=logs, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    assert failures(outputs, cfg) == [Check("bucket kms encryption", f"logs: {logs}", False,
                                            "default encryption AES256, expected aws:kms with the stack key")]
    s3.put_bucket_policy(Bucket=logs, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{logs}/*"}]}))
    s3.put_bucket_logging(Bucket=raw, BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": logs, "TargetPrefix": "raw/"}})
    assert failures(outputs, cfg) == []


def test_python_dash_m_entrypoint_reports_errors_on_stderr(aws_env, tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    import sys
    proc = subprocess.run([sys.executable, "-m", "lakehouse.ops", "--set", "region=us-east-1",
                           "--set", "workflows.fhir=lakehouse-dev-fhir", "start", "fhir"],
                          capture_output=True, text=True, cwd=ops_aws.REPO_ROOT, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: no AWS credentials found.")


def test_connection_jobs_run_on_the_stack_connection_and_others_on_none():
    outputs = StackOutputs({"connection": {"name": "lakehouse-prod-postgres"}}, "test")
    jdbc = JobSpec(pipeline="climate", name="load", script="climate/load.py", connection=True)
    plain = JobSpec(pipeline="climate", name="gold", script="climate/gold.py")
    good = {"Connections": {"Connections": ["lakehouse-prod-postgres"]},
            "DefaultArguments": {"--connection_name": "lakehouse-prod-postgres"}}
    assert connection_problems(good, jdbc, outputs) == []
    assert connection_problems({"DefaultArguments": {}}, jdbc, outputs) == [
        "connections [], expected ['lakehouse-prod-postgres']",
        "--connection_name=None, expected 'lakehouse-prod-postgres'"]
    assert connection_problems(good, plain, outputs) == [
        "connections ['lakehouse-prod-postgres'], expected none (the job does not declare connection: true)"]
    assert connection_problems({}, plain, outputs) == []
    with pytest.raises(OpsError, match=r"stack outputs \(test\) have no 'connection'"):
        connection_problems(good, jdbc, StackOutputs({}, "test"))


# --- pipelines run by a Step Functions state machine (orders: orchestrator step_functions) --------
# moto creates state machines and executions but runs no glue .sync task: an execution stays RUNNING
# until stopped (ABORTED), and its history is moto's static one, naming no task.

def orders_machine(outputs):
    return outputs["stateMachines"]["orders"]


def test_start_orders_starts_an_execution_of_its_state_machine_not_a_workflow(stack):
    cfg, outputs, path = stack
    assert "orders" not in outputs["workflows"]
    code, out = run_cli("--outputs", str(path), "start", "orders")
    executions = sfn_client().list_executions(stateMachineArn=orders_machine(outputs))["executions"]
    assert code == 0, out
    assert [e["status"] for e in executions] == ["RUNNING"]
    assert f"started lakehouse-dev-orders run {executions[0]['executionArn']}" in out
    assert f"watch it: python -m lakehouse.ops watch orders {executions[0]['executionArn']}" in out


def test_runs_lists_the_executions_of_orders_with_their_status(stack):
    cfg, outputs, path = stack
    assert run_cli("--outputs", str(path), "start", "orders")[0] == 0
    assert run_cli("--outputs", str(path), "start", "orders")[0] == 0
    sfn = sfn_client()
    first, second = sorted(sfn.list_executions(stateMachineArn=orders_machine(outputs))["executions"],
                           key=lambda e: e["startDate"])
    sfn.stop_execution(executionArn=first["executionArn"])
    code, out = run_cli("--outputs", str(path), "runs", "orders")
    assert code == 0, out
    assert "recent executions of state machine lakehouse-dev-orders" in out
    status = {r[0]: r[2] for r in rows_of(out) if r[0].startswith("arn:aws:states:")}
    assert status == {first["executionArn"]: "ABORTED", second["executionArn"]: "RUNNING"}


def test_watch_orders_reports_an_aborted_execution_with_its_jobs_never_started(stack):
    cfg, outputs, path = stack
    assert run_cli("--outputs", str(path), "start", "orders")[0] == 0
    sfn = sfn_client()
    arn = sfn.list_executions(stateMachineArn=orders_machine(outputs))["executions"][0]["executionArn"]
    sfn.stop_execution(executionArn=arn)
    code, out = run_cli("--outputs", str(path), "watch", "orders", "--interval", "0")  # the latest execution
    assert code == 1, out
    assert [r[:2] for r in rows_of(out) if r[0] in ("extract", "transform", "load", "maintain")] == [
        ["extract", "NOT STARTED"], ["transform", "NOT STARTED"], ["load", "NOT STARTED"], ["maintain", "NOT STARTED"]]
    assert f"FAILED: state machine lakehouse-dev-orders run {arn} ended ABORTED; execution ABORTED" in out


def glue_task_events(first_id, previous, job, run_id):
    """The events of one glue startJobRun.sync task up to its submission, as GetExecutionHistory returns them."""
    return [
        {"id": first_id, "previousEventId": previous, "type": "TaskScheduled", "taskScheduledEventDetails": {
            "resourceType": "glue", "resource": "startJobRun.sync", "region": REGION,
            "parameters": json.dumps({"JobName": job})}},
        {"id": first_id + 1, "previousEventId": first_id, "type": "TaskStarted",
         "taskStartedEventDetails": {"resourceType": "glue", "resource": "startJobRun.sync"}},
        {"id": first_id + 2, "previousEventId": first_id + 1, "type": "TaskSubmitted", "taskSubmittedEventDetails": {
            "resourceType": "glue", "resource": "startJobRun.sync", "output": json.dumps({"JobRunId": run_id})}},
    ]


def test_job_runs_of_an_execution_follow_each_task_chain_and_the_latest_retry_wins():
    from lakehouse.ops import state_machines
    # two Parallel branches interleaved, then a retried task
    a, b = glue_task_events(10, 9, "job-a", "jr_a"), glue_task_events(20, 9, "job-b", "jr_b")
    events = [a[0], b[0], b[1], a[1], a[2], b[2]] + glue_task_events(30, 25, "job-b", "jr_b2")
    events.append({"id": 40, "previousEventId": 39, "type": "TaskSubmitted", "taskSubmittedEventDetails": {
        "resourceType": "sns", "resource": "publish", "output": "{}"}})
    assert state_machines.job_run_ids(events) == {"job-a": "jr_a", "job-b": "jr_b2"}


def test_watch_orders_shows_the_glue_job_runs_its_execution_started(stack, monkeypatch):
    """moto runs no .sync task, so the history is what Step Functions records for the first task; the job
    run it names is a real moto job run, which GetJobRun reads."""
    from lakehouse.ops import state_machines
    cfg, outputs, path = stack
    glue = boto3.client("glue", region_name=REGION)
    extract = outputs["jobs"]["orders.extract"]
    run_id = glue.start_job_run(JobName=extract)["JobRunId"]
    monkeypatch.setattr(state_machines, "fetch_history", lambda sfn, arn: glue_task_events(5, 4, extract, run_id))
    assert run_cli("--outputs", str(path), "start", "orders")[0] == 0
    arn = sfn_client().list_executions(stateMachineArn=orders_machine(outputs))["executions"][0]["executionArn"]
    sfn_client().stop_execution(executionArn=arn)
    code, out = run_cli("--outputs", str(path), "watch", "orders", arn, "--interval", "0")
    assert code == 1
    rows = {r[0]: r for r in rows_of(out) if r[0] in ("extract", "transform")}
    assert rows["extract"][1] in ("RUNNING", "SUCCEEDED") and rows["extract"][5] == run_id
    assert rows["transform"][1] == "NOT STARTED"


def verify_rows(path):
    code, out = run_cli("--outputs", str(path), "--stack", STACK, "verify")
    return code, {(r[0], r[1]): r for r in rows_of(out)}, out


def test_verify_checks_the_orders_state_machine_against_the_declaration(stack):
    cfg, outputs, path = stack
    code, rows, out = verify_rows(path)
    assert code == 0, out
    for check in ("state machine", "state machine definition", "state machine logging", "state machine tracing",
                  "state machine encryption"):
        assert rows[(check, "lakehouse-dev-orders")][2] == "PASS", check
    assert ("workflow", "lakehouse-dev-orders") not in rows
    assert rows[("workflow", "lakehouse-dev-fhir")][2] == "PASS"  # glue-workflow pipelines checked as before


def test_verify_names_the_first_difference_of_a_drifted_definition_and_settings(stack):
    cfg, outputs, path = stack
    sfn = sfn_client()
    arn = orders_machine(outputs)
    document = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    document["States"]["Run transform"]["Retry"][1]["MaxAttempts"] = 3  # edited in the console
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(document),
                             loggingConfiguration={"level": "ERROR", "includeExecutionData": True, "destinations": [
                                 {"cloudWatchLogsLogGroup": {"logGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:"
                                                                            "log-group:/elsewhere:*"}}]},
                             tracingConfiguration={"enabled": False})
    code, rows, out = verify_rows(path)
    assert code == 1
    assert rows[("state machine definition", "lakehouse-dev-orders")][2:] == [
        "FAIL", "$.States.Run transform.Retry[1].MaxAttempts is 3, expected 1"]
    logging = rows[("state machine logging", "lakehouse-dev-orders")]
    assert logging[2] == "FAIL" and logging[3] == (
        "level 'ERROR', expected 'ALL'; includes execution data, expected not; destinations "
        f"['arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/elsewhere:*'], expected the log group "
        "/aws/vendedlogs/states/lakehouse-dev-orders")
    assert rows[("state machine tracing", "lakehouse-dev-orders")][2:] == ["FAIL", "X-Ray tracing off, expected on"]
    assert rows[("state machine encryption", "lakehouse-dev-orders")][2] == "PASS"


def test_verify_reports_a_missing_state_machine_and_a_foreign_key(stack, tmp_path):
    cfg, outputs, path = stack
    other_key = boto3.client("kms", region_name=REGION).create_key(Description="other")["KeyMetadata"]["Arn"]
    sfn_client().update_state_machine(stateMachineArn=orders_machine(outputs), encryptionConfiguration={
        "type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": other_key, "kmsDataKeyReusePeriodSeconds": 300})
    code, rows, out = verify_rows(path)
    assert code == 1
    assert rows[("state machine encryption", "lakehouse-dev-orders")][3] == (
        f"CUSTOMER_MANAGED_KMS_KEY with key '{other_key}', expected CUSTOMER_MANAGED_KMS_KEY with the stack key")
    sfn_client().delete_state_machine(stateMachineArn=orders_machine(outputs))
    code, rows, out = verify_rows(path)
    assert code == 1
    assert rows[("state machine", "lakehouse-dev-orders")][2:] == ["FAIL", f"not found in region {REGION}"]


def test_first_difference_names_missing_extra_and_changed_values():
    from lakehouse.ops.state_machines import first_difference
    want = {"StartAt": "A", "States": {"A": {"Type": "Task", "Next": "B"}, "B": {"Type": "Succeed"}}}
    assert first_difference(json.loads(json.dumps(want)), want) is None
    assert first_difference({**want, "Comment": "x"}, want) == '$.Comment not declared (found "x")'
    assert first_difference({"StartAt": "A", "States": {"A": {"Type": "Task", "Next": "B"}}}, want) == (
        '$.States.B missing (expected {"Type": "Succeed"})')
    assert first_difference({"l": [1, 2]}, {"l": [1]}) == "$.l has 2 items, expected 1"
    assert first_difference({"n": 2.0}, {"n": 2}) is None  # one JSON number
    assert first_difference({"n": True}, {"n": 1}) == "$.n is true, expected 1"


def test_verify_expects_the_settings_the_state_machine_component_sets():
    from components import pipeline_state_machine as component
    from lakehouse.ops import state_machines
    assert (state_machines.LOG_LEVEL, state_machines.DATA_KEY_REUSE_SECONDS) == (
        component.LOG_LEVEL, component.DATA_KEY_REUSE_SECONDS)
