"""Typed stack configuration: every key parsed and validated before any resource exists.

Types and defaults come from the `config:` block of Pulumi.yaml, so the CLI and the
SDK's mocks agree. `parse_stack_config` is pure (no Pulumi import): it takes the raw
values of one stack (strings as Pulumi hands them over, or YAML values) and returns a
`StackConfig` or raises one `ConfigError` listing every problem with key, value and
what is allowed.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Collection, Mapping

import yaml

from .errors import ConfigError, Problems
from .pipelines import REPO_ROOT, PipelineSpec, available_pipelines, load_pipeline
from .schedule import cron_problems
from .table_optimizers import CONFIG_KEY as TABLE_OPTIMIZERS_KEY
from .table_optimizers import OptimizedTable, table_optimizer_problems

PROJECT = "glue-lakehouse"
PROJECT_FILE = REPO_ROOT / "Pulumi.yaml"
# The namespaces a stack's config may use: the project's (keys declared in Pulumi.yaml), the engine's
# own (pulumi:, e.g. pulumi:disable-default-providers) and these aws: keys. The program builds the one
# AWS provider from aws:region; other aws: keys (profile, assumeRole, ...) would configure only the
# default provider the program never registers resources with, so they are refused, not ignored.
AWS_KEYS = ("region",)
ENGINE_NAMESPACE = "pulumi"

ENVIRONMENTS = ("dev", "staging", "prod")
DATA_CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
GLUE_VERSIONS = ("4.0", "5.0")
WORKER_TYPES = ("G.1X", "G.2X", "G.4X", "G.8X")
FLEX_WORKER_TYPES = ("G.1X", "G.2X")
EXECUTION_CLASSES = ("STANDARD", "FLEX")
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
                      1096, 1827, 2192, 2557, 2922, 3288, 3653)
START_MODES = ("ON_DEMAND", "SCHEDULED", "EVENT")
DATABASE_MODES = ("create", "existing", "none")
VPC_ID_RE = re.compile(r"^vpc-[0-9a-f]{8,17}$")
SUBNET_ID_RE = re.compile(r"^subnet-[0-9a-f]{8,17}$")
SECRET_ARN_RE = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")
ENDPOINT_RE = re.compile(r"^[A-Za-z0-9.-]+:\d{2,5}$")
DB_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
NAME_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{2,19}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Job settings a pipeline file may override per job (and per stack): config key -> field.
JOB_SETTING_KEYS = {
    "glueVersion": "glue_version",
    "workerType": "worker_type",
    "numberOfWorkers": "number_of_workers",
    "timeoutMinutes": "timeout_minutes",
    "maxRetries": "max_retries",
    "executionClass": "execution_class",
    "autoScaling": "auto_scaling",
    "maxConcurrentRuns": "max_concurrent_runs",
    "jobRunQueuing": "job_run_queuing",
    "notifyDelayMinutes": "notify_delay_minutes",
    "sparkUi": "spark_ui",
}


@dataclass(frozen=True)
class JobSettings:
    glue_version: str
    worker_type: str
    number_of_workers: int
    timeout_minutes: int
    max_retries: int
    execution_class: str
    auto_scaling: bool
    max_concurrent_runs: int
    job_run_queuing: bool
    notify_delay_minutes: int
    spark_ui: bool


@dataclass(frozen=True)
class BucketSettings:
    force_destroy: bool
    temp_expiration_days: int
    noncurrent_version_expiration_days: int
    raw_transition_ia_days: int
    raw_transition_glacier_days: int
    logs_expiration_days: int


@dataclass(frozen=True)
class WorkflowSettings:
    start_mode: str
    schedule: str
    event_batch_size: int
    event_batch_window_seconds: int
    max_concurrent_runs: int


@dataclass(frozen=True)
class NetworkSettings:
    create: bool
    vpc_cidr: str
    vpc_id: str  # existing VPC when create is False
    subnet_ids: tuple[str, ...]


@dataclass(frozen=True)
class DatabaseSettings:
    mode: str  # create | existing | none
    instance_class: str
    engine_version: str
    allocated_storage_gb: int
    name: str
    multi_az: bool
    deletion_protection: bool
    backup_retention_days: int
    existing_endpoint: str
    existing_secret_arn: str


@dataclass(frozen=True)
class MonitoringSettings:
    """Alarm thresholds (lakehouse.model.monitoring)."""

    quarantine_share_percent: int = 5  # of a job's input rows, within an hour
    rds_cpu_percent: int = 80
    rds_free_storage_gb: int = 4


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    environment: str
    name_prefix: str
    tags: Mapping[str, str]
    buckets: BucketSettings
    kms_deletion_window_days: int
    log_retention_days: int
    alert_email: str
    athena_bytes_cutoff_mb: int
    pipelines: tuple[PipelineSpec, ...]
    job_settings: Mapping[str, JobSettings]  # by JobSpec.key ("pipeline.job")
    workflow: WorkflowSettings
    network: NetworkSettings
    database: DatabaseSettings
    monitoring: MonitoringSettings = MonitoringSettings()
    # existing Iceberg tables given Glue table optimizers (tableOptimizers; lakehouse.model.table_optimizers)
    table_optimizers: tuple[OptimizedTable, ...] = ()

    @property
    def needs_connection(self) -> bool:
        """True when some deployed job declares `connection: true` (JDBC to PostgreSQL)."""
        return any(j.connection for p in self.pipelines for j in p.jobs)

    def resource_name(self, *parts: str) -> str:
        """Physical name: <prefix>-<stack>-<parts...>, e.g. lakehouse-dev-fhir-bronze."""
        return "-".join((self.name_prefix, self.stack) + parts).replace("_", "-")

    def database_name(self, zone: str) -> str:
        """Glue database of a zone: <prefix>_<stack>_<zone> (Glue/Athena want no dashes)."""
        return f"{self.name_prefix}_{self.stack}_{zone}".replace("-", "_")


# --- the schema in Pulumi.yaml ------------------------------------------------------

@lru_cache(maxsize=1)
def project_schema() -> dict[str, dict[str, Any]]:
    """The `config:` block of Pulumi.yaml: key -> {type, description, default?}."""
    with PROJECT_FILE.open() as fh:
        project = yaml.safe_load(fh)
    return dict(project.get("config") or {})


KIND_ALLOWED = {"string": "a string", "integer": "a whole number", "boolean": "true | false", "array": "a list"}


def _coerce(key: str, raw: Any, decl: Mapping[str, Any], problems: Problems) -> Any:
    """Turn a raw value (Pulumi hands strings; YAML hands natives) into the declared type."""
    kind = decl["type"]
    if kind == "string":
        if raw is None or isinstance(raw, (dict, list)):
            what = f" ({decl['description']})" if decl.get("description") else ""
            problems.add(key, raw, f"a string{what}")
            return None
        return str(raw)
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        problems.add(key, raw, "true | false")
        return None
    if kind == "integer":
        if isinstance(raw, bool):
            problems.add(key, raw, "a whole number")
            return None
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():  # Pulumi mocks hand numbers back as floats
            return int(raw)
        if isinstance(raw, str) and re.fullmatch(r"-?\d+", raw.strip()):
            return int(raw)
        problems.add(key, raw, "a whole number")
        return None
    if kind == "array":
        value = raw
        if isinstance(raw, str):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = None
        if not isinstance(value, list):
            problems.add(key, raw, "a list (a JSON array when set with `pulumi config set --path`)")
            return None
        item = {"description": decl.get("description"), **decl.get("items", {"type": "string"})}
        return [_coerce(f"{key}[{i}]", v, item, problems) for i, v in enumerate(value)]
    raise AssertionError(f"Pulumi.yaml declares {key} with unsupported type {kind!r}")


def _ranged(problems: Problems, key: str, value: int | None, lo: int, hi: int) -> None:
    if value is not None and not lo <= value <= hi:
        problems.add(key, value, f"a whole number from {lo} to {hi}")


def _one_of(problems: Problems, key: str, value: Any, allowed: tuple) -> None:
    if value is not None and value not in allowed:
        problems.add(key, value, " | ".join(str(a) for a in allowed))


def job_settings_problems(key: str, s: Mapping[str, Any]) -> Problems:
    """Validate one job's effective settings (camelCase keys as in Pulumi.yaml)."""
    p = Problems()
    _one_of(p, f"{key}glueVersion", s["glueVersion"], GLUE_VERSIONS)
    _one_of(p, f"{key}workerType", s["workerType"], WORKER_TYPES)
    _ranged(p, f"{key}numberOfWorkers", s["numberOfWorkers"], 2, 299)
    _ranged(p, f"{key}timeoutMinutes", s["timeoutMinutes"], 1, 2880)
    _ranged(p, f"{key}maxRetries", s["maxRetries"], 0, 10)
    _one_of(p, f"{key}executionClass", s["executionClass"], EXECUTION_CLASSES)
    _ranged(p, f"{key}maxConcurrentRuns", s["maxConcurrentRuns"], 1, 1000)
    _ranged(p, f"{key}notifyDelayMinutes", s["notifyDelayMinutes"], 1, 2880)
    if s["executionClass"] == "FLEX" and s["workerType"] in WORKER_TYPES and s["workerType"] not in FLEX_WORKER_TYPES:
        p.add(f"{key}workerType", s["workerType"], f"{' | '.join(FLEX_WORKER_TYPES)} with executionClass FLEX")
    return p


def _did_you_mean(word: str, known: list[str], shown: Any = None) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.7)
    return f" (did you mean {shown(close[0]) if shown else close[0]}?)" if close else ""


def key_problems(values: Mapping[str, Any], secret_keys: Collection[str] = ()) -> tuple[dict[str, Any], Problems]:
    """Every key of a stack's config checked: the project's values by bare key, and a problem for each
    key outside the project's schema, the allowed aws: keys and the engine's namespace (the value of a
    key in `secret_keys` is shown as [secret])."""
    schema = project_schema()
    problems = Problems()
    raw: dict[str, Any] = {}
    project_keys = [f"{PROJECT}:{k}" for k in schema]
    for full_key, given in values.items():
        value = "[secret]" if full_key in secret_keys else given
        ns, _, key = str(full_key).rpartition(":")
        if ns == ENGINE_NAMESPACE or (ns == "aws" and key in AWS_KEYS):
            continue
        if ns == "aws":
            problems.add(full_key, value, f"{', '.join(f'aws:{k}' for k in AWS_KEYS)}, the one aws: key the program "
                         "reads (the stack's provider takes nothing else from the stack config)"
                         + _did_you_mean(key, list(AWS_KEYS), lambda k: f"aws:{k}"))
        elif ns not in ("", PROJECT):
            problems.add(full_key, value, f"a key of the namespaces {PROJECT} (the keys of Pulumi.yaml), aws "
                         f"({', '.join(f'aws:{k}' for k in AWS_KEYS)}) or {ENGINE_NAMESPACE}"
                         + _did_you_mean(full_key, project_keys + [f"aws:{k}" for k in AWS_KEYS]))
        elif key not in schema:
            problems.add(f"{PROJECT}:{key}", value, "one of the keys declared in Pulumi.yaml"
                         + (_did_you_mean(key, list(schema), lambda k: f"{PROJECT}:{k}") or f": {sorted(schema)}"))
        else:
            raw[key] = given
    return raw, problems


def _null_allowed(stack: str, decl: Mapping[str, Any]) -> str:
    """What a key given as null (YAML `key:` or `key: null`; Pulumi hands the text null) must be instead."""
    kind = KIND_ALLOWED[decl["type"]]
    if "default" not in decl:
        return f"{kind} in Pulumi.{stack}.yaml, not null (required: {decl.get('description', '')})"
    default = decl["default"]
    shown = repr(default) if isinstance(default, str) else json.dumps(default)
    return f"{kind}, not null (remove the key for the default {shown})"


def available_stacks(root: Path = REPO_ROOT) -> list[str]:
    """The stacks with a Pulumi.<stack>.yaml (deployment settings files excluded)."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml")
                  if not p.name.endswith(".deploy.yaml"))


def parse_stack_config(stack: str, values: Mapping[str, Any], secret_keys: Collection[str] = ()) -> StackConfig:
    """Parse one stack's whole config: `glue-lakehouse:` keys (or bare keys), `aws:` and `pulumi:` keys.

    Unknown keys and namespaces are problems, like bad values: a misspelled key is never ignored (the
    value of an unknown key listed in `secret_keys` is not shown).
    """
    schema = project_schema()
    raw, problems = key_problems(values, secret_keys)

    v: dict[str, Any] = {}
    for key, decl in schema.items():
        if key in raw and (raw[key] is None or raw[key] == "null"):
            problems.add(f"{PROJECT}:{key}", raw[key], _null_allowed(stack, decl))
            v[key] = decl.get("default")  # checked as if absent, so the null is the one problem reported
        elif key in raw:
            v[key] = _coerce(f"{PROJECT}:{key}", raw[key], decl, problems)
        elif "default" in decl:
            v[key] = decl["default"]
        else:
            problems.add(f"{PROJECT}:{key}", None,
                         f"a value in Pulumi.{stack}.yaml (required: {decl.get('description', '')})")
            v[key] = None

    k = f"{PROJECT}:"
    _one_of(problems, k + "environment", v["environment"], ENVIRONMENTS)
    for tag_key in ("owner", "costCenter"):
        if v[tag_key] is not None and not str(v[tag_key]).strip():
            problems.add(k + tag_key, v[tag_key], "a non-empty tag value (required tag)")
    _one_of(problems, k + "dataClassification", v["dataClassification"], DATA_CLASSIFICATIONS)
    if v["namePrefix"] is not None and not NAME_PREFIX_RE.match(v["namePrefix"]):
        problems.add(k + "namePrefix", v["namePrefix"], "3-20 lower-case letters, digits and -, starting with a letter")
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", stack):
        problems.add("stack name", stack, "lower-case letters, digits and - (max 20): it becomes part of bucket names")
    _ranged(problems, k + "kmsDeletionWindowDays", v["kmsDeletionWindowDays"], 7, 30)
    _ranged(problems, k + "athenaBytesScannedCutoffMb", v["athenaBytesScannedCutoffMb"], 10, 10_000_000)
    _ranged(problems, k + "tempExpirationDays", v["tempExpirationDays"], 1, 365)
    _ranged(problems, k + "noncurrentVersionExpirationDays", v["noncurrentVersionExpirationDays"], 1, 3650)
    _ranged(problems, k + "logsExpirationDays", v["logsExpirationDays"], 1, 3650)
    ia, glacier = v["rawTransitionIaDays"], v["rawTransitionGlacierDays"]
    if ia is not None and ia != 0 and not 30 <= ia <= 3650:
        problems.add(k + "rawTransitionIaDays", ia,
                     "0 (never) or 30-3650 (S3 moves objects to STANDARD_IA after 30 days at the earliest)")
    if glacier is not None and glacier != 0:
        if not 1 <= glacier <= 3650:
            problems.add(k + "rawTransitionGlacierDays", glacier, "0 (never) or 1-3650")
        elif ia and glacier < ia + 30:
            problems.add(k + "rawTransitionGlacierDays", glacier,
                         f"0 (never) or at least rawTransitionIaDays + 30 = {ia + 30}")
    _one_of(problems, k + "logRetentionDays", v["logRetentionDays"], LOG_RETENTION_DAYS)
    if v["alertEmail"] and not EMAIL_RE.match(v["alertEmail"]):
        problems.add(k + "alertEmail", v["alertEmail"], "an e-mail address or empty")
    if v["environment"] == "prod" and v["forceDestroy"]:
        problems.add(k + "forceDestroy", True, "false in prod: buckets holding lake data are never force-destroyed")

    problems.extend(_workflow_problems(v))
    problems.extend(_monitoring_problems(v))
    problems.extend(_network_and_database_problems(v))

    defaults = {ck: v[ck] for ck in JOB_SETTING_KEYS}
    default_problems = job_settings_problems(k, defaults)
    problems.extend(default_problems)

    pipelines: list[PipelineSpec] = []
    names = v["pipelines"] or []
    declared = available_pipelines()
    if not names:
        problems.add(k + "pipelines", names, f"at least one of {declared}")
    for i, name in enumerate(names):
        if name is None:
            continue  # not a string: reported above
        if names.index(name) != i:
            problems.add(f"{k}pipelines[{i}]", name, "each pipeline once")
            continue
        if name not in declared:  # a name, never a path: only pipelines/<name>.yaml is deployed
            problems.add("pipelines", name, f"one of the declared pipelines {declared}")
            continue
        try:
            spec = load_pipeline(name)
        except ConfigError as e:
            problems.items.extend(e.problems)
            continue
        same = next((p for p in pipelines if p.name == spec.name), None)
        if same is not None:  # its jobs, roles and workflow would be registered twice
            problems.add(f"{spec.source}: name", spec.name, f"a pipeline name no other deployed pipeline declares "
                         f"({same.source} declares {same.name!r}; its jobs, roles and workflow are named after it)")
            continue
        pipelines.append(spec)

    stacks = sorted({*available_stacks(), stack})
    for p in pipelines:
        for job in p.jobs:
            for s in sorted(set(job.stacks) - set(stacks)):
                problems.add(f"{p.source}: jobs.{job.name}.stacks", s,
                             f"a stack with a Pulumi.<stack>.yaml: {stacks}" + _did_you_mean(s, stacks))

    job_settings: dict[str, JobSettings] = {}
    for p in pipelines:
        for job in p.jobs:
            overrides = job.settings_for(stack)
            where = f"{p.source}: jobs.{job.name}.settings/stacks.{stack}."
            unknown = sorted(set(overrides) - set(JOB_SETTING_KEYS))
            for u in unknown:
                problems.add(where + u, overrides[u], f"one of the job settings {sorted(JOB_SETTING_KEYS)}")
            merged = dict(defaults)
            for ck, value in overrides.items():
                if ck in JOB_SETTING_KEYS:
                    merged[ck] = _coerce(where + ck, value, schema[ck], problems)
            jp = job_settings_problems(where, merged)
            if default_problems.items:  # inherited bad defaults are reported once, above
                jp.items = [i for i in jp.items if i[len(where):].split(":")[0] in overrides]
            problems.extend(jp)
            if not jp.items and not unknown:
                job_settings[job.key] = JobSettings(**{JOB_SETTING_KEYS[ck]: merged[ck] for ck in JOB_SETTING_KEYS})

    # against the pipelines that loaded (a table of a pipeline file with problems is refused as well)
    table_optimizers, optimizer_problems = table_optimizer_problems(k + TABLE_OPTIMIZERS_KEY,
                                                                    v[TABLE_OPTIMIZERS_KEY], pipelines)
    problems.extend(optimizer_problems)

    if any(j.connection for p in pipelines for j in p.jobs) and v["databaseMode"] == "none":
        users = [j.key for p in pipelines for j in p.jobs if j.connection]
        problems.add(k + "databaseMode", "none", f"create | existing: jobs {users} declare connection: true")
    problems.raise_if_any()

    tags = {
        "Environment": v["environment"],
        "Project": PROJECT,
        "Owner": v["owner"].strip(),
        "CostCenter": v["costCenter"].strip(),
        "DataClassification": v["dataClassification"],
        "ManagedBy": "pulumi",
        "Stack": stack,
    }
    return StackConfig(
        project=PROJECT,
        stack=stack,
        environment=v["environment"],
        name_prefix=v["namePrefix"],
        tags=tags,
        buckets=BucketSettings(
            force_destroy=v["forceDestroy"],
            temp_expiration_days=v["tempExpirationDays"],
            noncurrent_version_expiration_days=v["noncurrentVersionExpirationDays"],
            raw_transition_ia_days=ia,
            raw_transition_glacier_days=glacier,
            logs_expiration_days=v["logsExpirationDays"],
        ),
        kms_deletion_window_days=v["kmsDeletionWindowDays"],
        log_retention_days=v["logRetentionDays"],
        alert_email=v["alertEmail"],
        athena_bytes_cutoff_mb=v["athenaBytesScannedCutoffMb"],
        pipelines=tuple(pipelines),
        job_settings=job_settings,
        workflow=WorkflowSettings(
            start_mode=v["workflowStartMode"],
            schedule=v["workflowSchedule"],
            event_batch_size=v["eventBatchSize"],
            event_batch_window_seconds=v["eventBatchWindowSeconds"],
            max_concurrent_runs=v["workflowMaxConcurrentRuns"],
        ),
        network=NetworkSettings(
            create=v["createNetwork"],
            vpc_cidr=v["vpcCidr"],
            vpc_id=v["vpcId"],
            subnet_ids=tuple(v["subnetIds"]),
        ),
        database=DatabaseSettings(
            mode=v["databaseMode"],
            instance_class=v["dbInstanceClass"],
            engine_version=v["dbEngineVersion"],
            allocated_storage_gb=v["dbAllocatedStorageGb"],
            name=v["dbName"],
            multi_az=v["dbMultiAz"],
            deletion_protection=v["dbDeletionProtection"],
            backup_retention_days=v["dbBackupRetentionDays"],
            existing_endpoint=v["existingDbEndpoint"],
            existing_secret_arn=v["existingDbSecretArn"],
        ),
        monitoring=MonitoringSettings(
            quarantine_share_percent=v["quarantineShareAlarmPercent"],
            rds_cpu_percent=v["rdsCpuAlarmPercent"],
            rds_free_storage_gb=v["rdsFreeStorageAlarmGb"],
        ),
        table_optimizers=table_optimizers,
    )


def _workflow_problems(v: Mapping[str, Any]) -> Problems:
    p = Problems()
    k = f"{PROJECT}:"
    _one_of(p, k + "workflowStartMode", v["workflowStartMode"], START_MODES)
    broken = cron_problems(v["workflowSchedule"]) if v["workflowSchedule"] is not None else []
    if broken:  # checked in every start mode: a schedule set is a schedule that will be used one day
        p.add(k + "workflowSchedule", v["workflowSchedule"],
              "a Glue cron expression cron(minutes hours day-of-month month day-of-week year) in UTC, "
              "e.g. cron(0 2 * * ? *); broken: " + "; ".join(broken))
    _ranged(p, k + "eventBatchSize", v["eventBatchSize"], 1, 100)
    _ranged(p, k + "eventBatchWindowSeconds", v["eventBatchWindowSeconds"], 1, 900)
    _ranged(p, k + "workflowMaxConcurrentRuns", v["workflowMaxConcurrentRuns"], 1, 100)
    return p


def _monitoring_problems(v: Mapping[str, Any]) -> Problems:
    p = Problems()
    k = f"{PROJECT}:"
    _ranged(p, k + "quarantineShareAlarmPercent", v["quarantineShareAlarmPercent"], 1, 100)
    _ranged(p, k + "rdsCpuAlarmPercent", v["rdsCpuAlarmPercent"], 1, 100)
    free, allocated = v["rdsFreeStorageAlarmGb"], v["dbAllocatedStorageGb"]
    if free is not None and isinstance(allocated, int) and not 1 <= free < allocated:
        p.add(k + "rdsFreeStorageAlarmGb", free, f"a whole number from 1 to {allocated - 1} "
              f"(below dbAllocatedStorageGb = {allocated}: the alarm fires before the disk is full)")
    return p


def _network_and_database_problems(v: Mapping[str, Any]) -> Problems:
    """Create-or-use-existing settings, rejecting contradictions (both given, or neither)."""
    p = Problems()
    k = f"{PROJECT}:"
    subnets = v["subnetIds"] or []
    if v["createNetwork"]:
        if v["vpcId"] or subnets:
            p.add(k + "vpcId/subnetIds", v["vpcId"] or subnets,
                  "empty when createNetwork is true (set createNetwork: false to use an existing VPC)")
        try:
            net = ipaddress.ip_network(v["vpcCidr"] or "")
            if net.version != 4 or not 16 <= net.prefixlen <= 24:
                raise ValueError
        except ValueError:
            p.add(k + "vpcCidr", v["vpcCidr"], "an IPv4 CIDR block from /16 to /24, e.g. 10.42.0.0/16")
    else:
        if not (v["vpcId"] and VPC_ID_RE.match(v["vpcId"])):
            p.add(k + "vpcId", v["vpcId"], "an existing VPC id like vpc-0123456789abcdef0 when createNetwork is false")
        if len(subnets) < 2:
            p.add(k + "subnetIds", subnets,
                  "two or more existing subnet ids in different AZs when createNetwork is false")
        for i, s in enumerate(subnets):
            if not (isinstance(s, str) and SUBNET_ID_RE.match(s)):
                p.add(f"{k}subnetIds[{i}]", s, "a subnet id like subnet-0123456789abcdef0")
    mode = v["databaseMode"]
    _one_of(p, k + "databaseMode", mode, DATABASE_MODES)
    if mode == "existing" and v["createNetwork"]:
        p.add(k + "databaseMode", "existing", "create | none when createNetwork is true (a VPC made here "
              "cannot reach an outside database; set createNetwork: false with its vpcId and subnetIds)")
    if mode == "existing":
        if not (v["existingDbEndpoint"] and ENDPOINT_RE.match(v["existingDbEndpoint"])):
            p.add(k + "existingDbEndpoint", v["existingDbEndpoint"],
                  "host:port of the existing PostgreSQL when databaseMode is existing")
        if not (v["existingDbSecretArn"] and SECRET_ARN_RE.match(v["existingDbSecretArn"])):
            p.add(k + "existingDbSecretArn", v["existingDbSecretArn"],
                  "a Secrets Manager secret ARN when databaseMode is existing")
    elif v["existingDbEndpoint"] or v["existingDbSecretArn"]:
        p.add(k + "existingDbEndpoint/existingDbSecretArn", v["existingDbEndpoint"] or v["existingDbSecretArn"],
              "empty unless databaseMode is existing")
    if mode == "create":
        if v["dbInstanceClass"] is not None and not str(v["dbInstanceClass"]).startswith("db."):
            p.add(k + "dbInstanceClass", v["dbInstanceClass"], "an RDS instance class such as db.t4g.micro")
        _ranged(p, k + "dbAllocatedStorageGb", v["dbAllocatedStorageGb"], 20, 1000)
        _ranged(p, k + "dbBackupRetentionDays", v["dbBackupRetentionDays"], 1, 35)
        if v["dbName"] is not None and not DB_NAME_RE.match(v["dbName"]):
            p.add(k + "dbName", v["dbName"], "lower-case letters, digits and _, starting with a letter")
    return p


def stack_file_values(stack: str, root: Path = REPO_ROOT) -> dict[str, Any]:
    """The `config:` values of Pulumi.<stack>.yaml, as written (used by tests and the runner)."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise ConfigError([f"stack: got {stack!r}; allowed: one of the stacks with a Pulumi.<stack>.yaml: "
                           f"{available_stacks(root)}"])
    with path.open() as fh:
        return dict((yaml.safe_load(fh) or {}).get("config") or {})


def load_stack_config(stack: str) -> StackConfig:
    """Parse Pulumi.<stack>.yaml with the project defaults; no Pulumi needed."""
    return parse_stack_config(stack, stack_file_values(stack))
