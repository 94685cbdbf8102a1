"""Check a deployed stack against its declaration: one row per check, pass or fail with why.

Expectations come from the same places the Pulumi program reads: the stack config, the
pipeline declarations, `trigger_plan` and `job_arguments`. Facts come from read-only
AWS calls (Glue, S3, KMS, Step Functions) in the stack's region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from botocore.exceptions import ClientError

from ..model.config import StackConfig, WorkflowSettings
from ..model.names import job_names
from ..model.packaging import CA_BUNDLE_FILE, CA_BUNDLE_PREFIX, HASH_CHARS, LIBRARY_PREFIX
from ..model.pipelines import JobSpec, PipelineSpec
from ..model.platform import CONNECTION_ARGUMENT, EXTRA_FILES_ARGUMENT, deployed_arguments, external_code_argument
from ..model.workflow_plan import TriggerPlan, trigger_plan
from ..model.zones import BUCKET_ROLES, LAKE_ZONES
from . import state_machines
from .aws import Aws, StackOutputs, error_code, is_not_found

PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
# Flags Glue reads as false when absent.
FALSE_WHEN_ABSENT = ("--enable-spark-ui", "--enable-auto-scaling")


@dataclass(frozen=True)
class Check:
    check: str
    target: str
    ok: bool
    reason: str


def _ok(check: str, target: str, reason: str) -> Check:
    return Check(check, target, True, reason)


def _fail(check: str, target: str, reason: str) -> Check:
    return Check(check, target, False, reason)


class KeyMatcher:
    """Whether a KMS key id, ARN or alias names the stack's key (aliases resolved once)."""

    def __init__(self, aws: Aws, key_arn: str):
        self.aws, self.key_arn, self._cache = aws, key_arn, {}

    def __call__(self, value: str | None) -> bool:
        if not value:
            return False
        if value in (self.key_arn, self.key_arn.rsplit("/", 1)[-1]):
            return True
        if value not in self._cache:
            try:
                self._cache[value] = self.aws.kms.describe_key(KeyId=value)["KeyMetadata"]["Arn"] == self.key_arn
            except ClientError:
                self._cache[value] = False
        return self._cache[value]


# --- KMS and buckets -----------------------------------------------------------------

def check_kms_key(aws: Aws, key_arn: str) -> list[Check]:
    try:
        meta = aws.kms.describe_key(KeyId=key_arn)["KeyMetadata"]
    except ClientError as e:
        if is_not_found(e):
            return [_fail("kms key", key_arn, f"not found in region {aws.region}")]
        raise
    rows = [_ok("kms key", key_arn, "enabled") if meta.get("KeyState") == "Enabled"
            else _fail("kms key", key_arn, f"state {meta.get('KeyState')}, expected Enabled")]
    rotation = aws.kms.get_key_rotation_status(KeyId=key_arn).get("KeyRotationEnabled")
    rows.append(_ok("kms key rotation", key_arn, "enabled") if rotation
                else _fail("kms key rotation", key_arn, "automatic rotation is off, expected on"))
    return rows


def _bucket_call(fn: Callable[..., Any], bucket: str, missing_code: str) -> tuple[Any, str | None]:
    """(response, None), or (None, code) when the bucket or the setting is missing."""
    try:
        return fn(Bucket=bucket), None
    except ClientError as e:
        code = error_code(e)
        if code in (missing_code, "NoSuchBucket"):
            return None, code
        raise


def check_bucket(aws: Aws, role: str, bucket: str, same_key: KeyMatcher, log_targets: set[str]) -> list[Check]:
    loc, code = _bucket_call(aws.s3.get_bucket_location, bucket, "NoSuchBucket")
    if code:
        return [_fail("bucket", f"{role}: {bucket}", "not found")]
    where = (loc or {}).get("LocationConstraint") or "us-east-1"
    rows = [_ok("bucket", f"{role}: {bucket}", f"exists in {where}") if where == aws.region
            else _fail("bucket", f"{role}: {bucket}", f"is in {where}, the stack's region is {aws.region}")]

    enc, code = _bucket_call(aws.s3.get_bucket_encryption, bucket, "ServerSideEncryptionConfigurationNotFoundError")
    rules = (enc or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    default = (rules[0] if rules else {}).get("ApplyServerSideEncryptionByDefault", {})
    algo, key = default.get("SSEAlgorithm"), default.get("KMSMasterKeyID")
    target = f"{role}: {bucket}"
    if algo in ("aws:kms", "aws:kms:dsse") and same_key(key):
        rows.append(_ok("bucket kms encryption", target, f"{algo} with the stack key"))
    elif algo in ("aws:kms", "aws:kms:dsse"):
        rows.append(_fail("bucket kms encryption", target,
                          f"{algo} with key {key!r}, expected the stack key {same_key.key_arn}"))
    elif algo == "AES256" and bucket in log_targets:
        # S3 server access log delivery cannot write to SSE-KMS buckets.
        rows.append(_ok("bucket kms encryption", target,
                        "AES256: access-log target (S3 log delivery does not support SSE-KMS)"))
    else:
        rows.append(_fail("bucket kms encryption", target,
                          f"default encryption {algo or 'none'}, expected aws:kms with the stack key"))

    pab, code = _bucket_call(aws.s3.get_public_access_block, bucket, "NoSuchPublicAccessBlockConfiguration")
    flags = (pab or {}).get("PublicAccessBlockConfiguration", {})
    off = [f for f in PUBLIC_ACCESS_FLAGS if not flags.get(f)]
    rows.append(_ok("bucket public access block", target, "all four settings on") if not off
                else _fail("bucket public access block", target,
                           "no public access block" if code else f"off: {', '.join(off)}; expected all four on"))
    return rows


def access_log_targets(aws: Aws, buckets: Iterable[str]) -> set[str]:
    targets = set()
    for b in buckets:
        resp, _ = _bucket_call(aws.s3.get_bucket_logging, b, "NoSuchBucket")
        target = ((resp or {}).get("LoggingEnabled") or {}).get("TargetBucket")
        if target:
            targets.add(target)
    return targets


# --- Glue ------------------------------------------------------------------------------

def check_security_configuration(aws: Aws, name: str, same_key: KeyMatcher) -> list[Check]:
    try:
        conf = aws.glue.get_security_configuration(Name=name)["SecurityConfiguration"]
    except ClientError as e:
        if is_not_found(e):
            return [_fail("security configuration", name, f"not found in region {aws.region}")]
        raise
    enc = conf.get("EncryptionConfiguration", {})
    s3 = (enc.get("S3Encryption") or [{}])[0]
    cw = enc.get("CloudWatchEncryption") or {}
    bm = enc.get("JobBookmarksEncryption") or {}
    wrong = []
    for label, mode, expected, key in (
        ("S3", s3.get("S3EncryptionMode"), "SSE-KMS", s3.get("KmsKeyArn")),
        ("CloudWatch", cw.get("CloudWatchEncryptionMode"), "SSE-KMS", cw.get("KmsKeyArn")),
        ("job bookmarks", bm.get("JobBookmarksEncryptionMode"), "CSE-KMS", bm.get("KmsKeyArn")),
    ):
        if mode != expected:
            wrong.append(f"{label} {mode or 'DISABLED'}, expected {expected}")
        elif not same_key(key):
            wrong.append(f"{label} uses key {key!r}, expected the stack key")
    return [_fail("security configuration", name, "; ".join(wrong)) if wrong
            else _ok("security configuration", name,
                     "S3 SSE-KMS, CloudWatch SSE-KMS, bookmarks CSE-KMS with the stack key")]


def check_database(aws: Aws, zone: str, name: str, bucket: str) -> Check:
    try:
        db = aws.glue.get_database(Name=name)["Database"]
    except ClientError as e:
        if is_not_found(e):
            return _fail("database", f"{zone}: {name}", f"not found in region {aws.region}")
        raise
    location = (db.get("LocationUri") or "").rstrip("/")
    if location != f"s3://{bucket}":
        return _fail("database", f"{zone}: {name}", f"LocationUri {db.get('LocationUri')!r}, expected s3://{bucket}/")
    return _ok("database", f"{zone}: {name}", f"LocationUri s3://{bucket}/")


def workflow_triggers(aws: Aws, workflow: str) -> dict[str, dict[str, Any]]:
    found = {}
    for page in aws.glue.get_paginator("get_triggers").paginate():
        for t in page.get("Triggers", []):
            if t.get("WorkflowName") == workflow:
                found[t["Name"]] = t
    return found


def trigger_problems(plan: TriggerPlan, trigger: Mapping[str, Any], physical: Mapping[str, str],
                     settings: WorkflowSettings) -> list[str]:
    """What differs between a planned trigger and the deployed one; empty = matches."""
    problems = []
    expected_type = settings.start_mode if plan.kind == "START" else "CONDITIONAL"
    if trigger.get("Type") != expected_type:
        problems.append(f"type {trigger.get('Type')}, expected {expected_type}")
    elif expected_type == "SCHEDULED" and trigger.get("Schedule") != settings.schedule:
        problems.append(f"schedule {trigger.get('Schedule')!r}, expected {settings.schedule!r}")
    elif expected_type == "EVENT":
        batching = trigger.get("EventBatchingCondition") or {}
        got = (batching.get("BatchSize"), batching.get("BatchWindow"))
        want = (settings.event_batch_size, settings.event_batch_window_seconds)
        if got != want:
            problems.append(f"event batching (size, window) {got}, expected {want}")
    actions = [a.get("JobName") for a in trigger.get("Actions", [])]
    expected_actions = [physical[a] for a in plan.actions]
    if actions != expected_actions:
        problems.append(f"actions {actions}, expected {expected_actions}")
    if plan.kind == "CONDITIONAL":
        pred = trigger.get("Predicate") or {}
        if pred.get("Logical") != "AND":
            problems.append(f"predicate logical {pred.get('Logical')}, expected AND")
        conds = [(c.get("JobName"), c.get("LogicalOperator"), c.get("State")) for c in pred.get("Conditions", [])]
        expected = [(physical[c], "EQUALS", "SUCCEEDED") for c in plan.conditions]
        if conds != expected:
            problems.append("conditions " + _conds(conds) + ", expected " + _conds(expected))
    # Glue keeps EVENT start triggers in CREATED for life (they cannot be started); the
    # workflow's event batching drives them. Every other non-ON_DEMAND trigger must be ACTIVATED.
    if expected_type == "EVENT":
        if trigger.get("State") not in ("CREATED", "ACTIVATED"):
            problems.append(f"state {trigger.get('State')}, expected CREATED or ACTIVATED (EVENT triggers)")
    elif expected_type != "ON_DEMAND" and trigger.get("State") != "ACTIVATED":
        problems.append(f"state {trigger.get('State')}, "
                        f"expected ACTIVATED ({expected_type} triggers fire only when ACTIVATED)")
    return problems


def _conds(conds: list[tuple]) -> str:
    return "[" + ", ".join(f"{j} {op} {st}" for j, op, st in conds) + "]"


def check_workflow(aws: Aws, pipeline: PipelineSpec, workflow: str, physical: Mapping[str, str],
                   settings: WorkflowSettings) -> list[Check]:
    try:
        found = aws.glue.get_workflow(Name=workflow)["Workflow"]
    except ClientError as e:
        if is_not_found(e):
            return [_fail("workflow", workflow, f"not found in region {aws.region}")]
        raise
    runs = found.get("MaxConcurrentRuns")
    rows = [_ok("workflow", workflow, f"{pipeline.name}, max concurrent runs {runs}")
            if runs == settings.max_concurrent_runs
            else _fail("workflow", workflow, f"max concurrent runs {runs}, expected {settings.max_concurrent_runs}")]
    mode = settings.start_mode
    deployed = workflow_triggers(aws, workflow)
    planned = trigger_plan(pipeline)
    for plan in planned:
        name = f"{workflow}-{plan.suffix}"
        want = f"{mode if plan.kind == 'START' else 'CONDITIONAL'} starting {[physical[a] for a in plan.actions]}" + (
            f" when {' AND '.join(physical[c] for c in plan.conditions)} SUCCEEDED" if plan.conditions else "")
        if name not in deployed:
            rows.append(_fail("trigger", name, f"missing: expected {want}"))
            continue
        problems = trigger_problems(plan, deployed[name], physical, settings)
        rows.append(_fail("trigger", name, "; ".join(problems)) if problems else _ok("trigger", name, want))
    expected_names = {f"{workflow}-{p.suffix}" for p in planned}
    for extra in sorted(set(deployed) - expected_names):
        rows.append(_fail("trigger", extra, "not in the pipeline's trigger plan (left over or hand-made)"))
    return rows


def expected_arguments(job: JobSpec, cfg: StackConfig, outputs: StackOutputs) -> dict[str, str]:
    """What the Pulumi program gives the job (lakehouse.model.platform), bound to the stack outputs.

    The library's and the CA bundle's keys carry a content hash the outputs do not name: they are
    expected under the scripts bucket's lib/ and certs/ prefixes. --connection_name is
    connection_problems' to check.
    """
    buckets = {role: outputs.item("buckets", role) for role in BUCKET_ROLES}
    databases = {zone: outputs.item("databases", zone) for zone in LAKE_ZONES}
    expected = deployed_arguments(job, cfg.job_settings[job.key], job_names(cfg, job), buckets, databases,
                                  library_uri=f"s3://{buckets['scripts']}/{LIBRARY_PREFIX}",
                                  ca_bundle_uri=f"s3://{buckets['scripts']}/{CA_BUNDLE_PREFIX}")
    expected.pop(CONNECTION_ARGUMENT, None)
    return expected


def argument_problems(actual: Mapping[str, str], job: JobSpec, cfg: StackConfig, outputs: StackOutputs) -> list[str]:
    problems = []
    expected = expected_arguments(job, cfg, outputs)
    for key, value in expected.items():
        found = actual.get(key, "false" if key in FALSE_WHEN_ABSENT else None)
        if found is None:
            problems.append(f"{key} missing (expected {value!r})")
        elif key == "--extra-py-files":
            if not found.startswith(value):
                problems.append(f"{key}={found!r}, expected under {value}")
        elif key == EXTRA_FILES_ARGUMENT:  # exactly the one bundle object, nothing beside it
            bundle = f"{value}<{HASH_CHARS} hex digits>/{CA_BUNDLE_FILE}"
            if not re.fullmatch(re.escape(value) + f"[0-9a-f]{{{HASH_CHARS}}}/" + re.escape(CA_BUNDLE_FILE), found):
                problems.append(f"{key}={found!r}, expected {bundle}")
        elif found != value:
            problems.append(f"{key}={found!r}, expected {value!r}")
    for key in sorted(k for k in actual if external_code_argument(k) and k not in expected):
        problems.append(f"{key}={actual[key]!r}, expected none (it {external_code_argument(key)})")
    return problems


def connection_problems(glue_job: Mapping[str, Any], job: JobSpec, outputs: StackOutputs) -> list[str]:
    """A `connection: true` job runs on the stack's Glue connection and is told its name; others get none."""
    attached = list((glue_job.get("Connections") or {}).get("Connections") or [])
    argument = (glue_job.get("DefaultArguments") or {}).get("--connection_name")
    if not job.connection:
        return ([f"connections {attached}, expected none (the job does not declare connection: true)"]
                if attached else [])
    name = outputs.item("connection", "name")
    problems = []
    if attached != [name]:
        problems.append(f"connections {attached}, expected [{name!r}]")
    if argument != name:
        problems.append(f"--connection_name={argument!r}, expected {name!r}")
    return problems


def check_job(aws: Aws, job: JobSpec, name: str, cfg: StackConfig, outputs: StackOutputs) -> list[Check]:
    try:
        glue_job = aws.glue.get_job(JobName=name)["Job"]
    except ClientError as e:
        if is_not_found(e):
            return [_fail("job", f"{job.key}: {name}", f"not found in region {aws.region}")]
        raise
    target = f"{job.key}: {name}"
    settings = cfg.job_settings[job.key]
    rows = []
    script = (glue_job.get("Command") or {}).get("ScriptLocation", "")
    scripts_bucket = f"s3://{outputs.item('buckets', 'scripts')}/"
    rows.append(_ok("job", target, f"glueetl, script {script}")
                if (glue_job.get("Command") or {}).get("Name") == "glueetl" and script.startswith(scripts_bucket)
                else _fail("job", target, f"command {(glue_job.get('Command') or {}).get('Name')} script {script!r}, "
                                          f"expected glueetl with a script under {scripts_bucket}"))
    sec, expected_sec = glue_job.get("SecurityConfiguration"), outputs.get("securityConfiguration")
    rows.append(_ok("job security configuration", target, sec) if sec == expected_sec
                else _fail("job security configuration", target, f"{sec!r}, expected {expected_sec!r}"))
    version = glue_job.get("GlueVersion")
    rows.append(_ok("job glue version", target, str(version)) if version == settings.glue_version
                else _fail("job glue version", target,
                           f"{version!r}, expected {settings.glue_version!r} (stack config)"))
    problems = argument_problems(glue_job.get("DefaultArguments") or {}, job, cfg, outputs)
    rows.append(_fail("job arguments", target, "; ".join(problems)) if problems
                else _ok("job arguments", target, "platform and declared arguments as expected"))
    problems = connection_problems(glue_job, job, outputs)
    if problems or job.connection:
        rows.append(_fail("job connection", target, "; ".join(problems)) if problems
                    else _ok("job connection", target, outputs.item("connection", "name")))
    actual = {
        "workerType": glue_job.get("WorkerType"), "numberOfWorkers": glue_job.get("NumberOfWorkers"),
        "timeoutMinutes": glue_job.get("Timeout"), "maxRetries": glue_job.get("MaxRetries"),
        "executionClass": glue_job.get("ExecutionClass") or "STANDARD",
        "maxConcurrentRuns": (glue_job.get("ExecutionProperty") or {}).get("MaxConcurrentRuns"),
    }
    want = {"workerType": settings.worker_type, "numberOfWorkers": settings.number_of_workers,
            "timeoutMinutes": settings.timeout_minutes, "maxRetries": settings.max_retries,
            "executionClass": settings.execution_class, "maxConcurrentRuns": settings.max_concurrent_runs}
    diff = [f"{k} {actual[k]!r}, expected {v!r}" for k, v in want.items() if actual[k] != v]
    rows.append(_fail("job settings", target, "; ".join(diff)) if diff
                else _ok("job settings", target,
                         f"{settings.worker_type} x{settings.number_of_workers}, {settings.execution_class}"))
    return rows


def verify(aws: Aws, outputs: StackOutputs, cfg: StackConfig) -> list[Check]:
    """Every check of the deployment, in a stable order."""
    rows: list[Check] = []
    stack_region = outputs.values.get("region")
    rows.append(_ok("region", aws.region, "matches the stack outputs") if stack_region == aws.region
                else _fail("region", aws.region, f"stack output 'region' is {stack_region!r}"))
    key_arn = str(outputs.get("kmsKeyArn"))
    same_key = KeyMatcher(aws, key_arn)
    rows += check_kms_key(aws, key_arn)
    buckets = {role: outputs.item("buckets", role) for role in BUCKET_ROLES}
    existing = [b for b in buckets.values() if _bucket_call(aws.s3.get_bucket_location, b, "NoSuchBucket")[1] is None]
    log_targets = access_log_targets(aws, existing)
    for role, bucket in buckets.items():
        rows += check_bucket(aws, role, bucket, same_key, log_targets)
    rows += check_security_configuration(aws, str(outputs.get("securityConfiguration")), same_key)
    for zone in LAKE_ZONES:
        rows.append(check_database(aws, zone, outputs.item("databases", zone), buckets[zone]))
    for pipeline in cfg.pipelines:
        physical = {j.name: outputs.item("jobs", j.key) for j in pipeline.jobs}
        if pipeline.orchestrator == "step_functions":
            rows += state_machines.check_state_machine(aws, pipeline, outputs, same_key)
        else:
            rows += check_workflow(aws, pipeline, outputs.item("workflows", pipeline.name), physical, cfg.workflow)
        for job in pipeline.topological_order():
            rows += check_job(aws, job, physical[job.name], cfg, outputs)
    return rows
