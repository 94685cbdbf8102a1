"""A monthly cost estimate of one stack, from its declaration: pure data and functions, no AWS.

`estimate(cfg, region)` prices what the stack's declaration creates and runs:

- Glue: every deployed job, per run, projected from the measured benchmark (`MEASURED_WORK`) by
  `project_run`, the one projection (bench/bench.py and docs/benchmarks.md "Glue cost projection" use
  it too; its assumptions are GLUE_PROJECTION_ASSUMPTIONS: 60 s billed start-up, executors = workers - 1,
  4 vCPU per DPU, 50% parallel efficiency, 1-minute minimum, auto scaling's maximum billed for the whole
  run), at the job's worker type and count and its execution class's price, times the workflow runs
  per month (the schedule's, counted by
  lakehouse.model.schedule.fires_in_year, or `Workload.unscheduled_runs_per_month`).
- RDS (databaseMode create, when a job needs the connection): instance-hours of the class, single
  or Multi-AZ, gp3 storage, and the secret RDS manages for the master password.
- A created VPC (createNetwork, when a job needs the connection): the interface endpoints
  GlueRdsConnection creates (`INTERFACE_ENDPOINT_SERVICES`) in each of its AZs, their data, and the
  VPC flow logs.
- Glue crawlers (a pipeline declaring `crawler:`): one crawl per run, DPU-hours per crawl from the
  assumed crawler DPUs and crawl minutes, at least the crawler's billing minimum.
- Step Functions (orchestrator step_functions): standard-workflow state transitions per execution,
  counted from the state machine's definition (lakehouse.model.state_machine.transitions_per_execution),
  times the runs a month.
- CloudWatch: the alarms and the dashboard of lakehouse.model.monitoring (always there) and the custom
  metrics the jobs publish (monitoring.published_metrics), billed for the hours they receive data.
- S3, CloudWatch Logs, KMS, Athena, SNS: from the named data-volume assumptions of `Workload`.

Prices come from a price table per region (`PRICE_TABLES`, or one read from YAML and checked by
`price_table_problems`): a region missing from it is an error naming the region and the regions
known, never a silent default. Every line item says which assumption it rests on.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Collection, Mapping, Optional

from .analytics import gold_tables
from .config import StackConfig
from .errors import ConfigError, Problems
from .monitoring import alarm_metrics, alarm_specs, monitoring_plan, published_metrics
from .names import lake_names
from .schedule import fires_in_year
from .state_machine import CRAWLER_POLL_SECONDS, definition, transitions_per_execution

HOURS_PER_MONTH = 730  # AWS's own monthly-hours convention (pricing calculator)
DAYS_PER_MONTH = 365 / 12
REFERENCE_YEAR = 2027  # runs per month = a schedule's fires in this (non-leap) year / 12

# --- the measured workload ----------------------------------------------------------------------

# Median job wall seconds at ~1M encounters (133,000 patients), local Spark local[2], three runs on
# this project's 2-vCPU machine (docs/benchmarks.md, "Issue 21, twelfth round"; 2026-12-03), produced by
#   .venv/bin/python bench/bench.py --patients 133000 --runs 3 --out bench/results/bench-133000-r12.json
# bronze, silver and gold of the full run; maintain (the table-maintenance job, the daily run's last) on
# the lake the 1% increment left, every step with work to do. Work = these seconds x MEASURED_LOCAL_CORES
# (both cores busy: an upper bound on CPU work). The prod settings are chosen from it (docs/benchmarks.md,
# "Glue cost projection", generated from `project_run`; tests/model/test_cost.py checks the daily FHIR
# run's target). Jobs not listed were never benchmarked.
MEASURED_WORK: Mapping[str, float] = {"fhir.bronze": 50.25, "fhir.silver": 64.31, "fhir.gold": 10.64,
                                      "fhir.maintain": 60.45}
MEASURED_LOCAL_CORES = 2
MEASURED_WITH = "bench/bench.py --patients 133000 --runs 3 (docs/benchmarks.md, twelfth round of issue 21)"

# The projection's model: `job_run_dpu_hours` below is the one implementation (bench/bench.py calls
# `project_run` with the work it has just measured). Its assumptions, GLUE_PROJECTION_ASSUMPTIONS:
GLUE_STARTUP_SECONDS = 60.0  # billed start-up per job run
GLUE_MIN_BILLED_SECONDS = 60.0  # Glue 2.0+: per-second billing, 1-minute minimum
GLUE_PARALLEL_EFFICIENCY = 0.5
VCPU_PER_DPU = 4
DPU_PER_WORKER = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}
MIN_WORKERS = 2  # a Spark job's least: the driver and one executor (auto scaling never goes below)
# Sizing headroom: the prod settings are chosen so that GROWTH x the measured work still finishes
# within HEADROOM_MINUTES even when auto scaling never adds a worker (MIN_WORKERS), far inside the
# jobs' timeoutMinutes (tests/model/test_cost.py checks both against the prod stack).
GROWTH = 4
HEADROOM_MINUTES = 10

GLUE_PROJECTION_ASSUMPTIONS: tuple[str, ...] = (
    "work = measured local job wall seconds x local cores (both cores busy all the time: an upper bound on "
    "CPU work); a job never benchmarked is projected at Workload.unmeasured_job_core_seconds (default 0: "
    "the start-up floor only, a lower bound)",
    f"{GLUE_STARTUP_SECONDS:.0f} s of start-up per job run, billed (Glue 5.0 usually starts faster); a FLEX "
    "run's wait for spare capacity before it starts is not modelled",
    "executors = workers - 1 (one worker is the driver); "
    f"{VCPU_PER_DPU} vCPU per DPU; {GLUE_PARALLEL_EFFICIENCY:.0%} parallel efficiency",
    f"per-second billing with a {GLUE_MIN_BILLED_SECONDS / 60:g}-minute minimum per job run (Glue 2.0+)",
    "auto scaling on: numberOfWorkers is the most Glue may allocate and Glue bills the workers it holds; "
    "the projection bills that maximum for the whole run (a ceiling on DPU-hours, and the shortest run), "
    f"and also gives the run at {MIN_WORKERS} workers (auto scaling never adding one: the longest run); "
    "auto scaling off: every configured worker for the whole run, exactly",
    "FLEX: the same DPU-hours at the FLEX price per DPU-hour; a run on spare capacity may start late and "
    "take longer (not modelled)",
    "S3 instead of local disk, Glue's own JVM and network: not modelled; data read once per job as measured",
)


# What GlueRdsConnection creates in a VPC it makes: one interface endpoint per service its jobs call
# (components.glue_rds_connection.interface_endpoint_services; S3 has a free gateway endpoint) in
# each of its private subnets, one per AZ (private_subnet_cidrs count). tests/model/test_cost.py
# compares both with the component, so a change there fails here.
INTERFACE_ENDPOINT_SERVICES = ("glue", "kms", "logs", "monitoring", "secretsmanager", "sts")
CREATED_NETWORK_AZS = 2
KMS_KEYS = 1  # the lake key (LakeBuckets): every bucket, log group, secret and the catalog use it


@dataclass(frozen=True)
class Workload:
    """The data-volume assumptions: nothing here is measured on AWS. Each line item names the ones it uses."""

    # runs of each pipeline's workflow a month when it has no schedule (ON_DEMAND, EVENT)
    unscheduled_runs_per_month: float = 22.0  # one run per working day
    # work of a job with no benchmark figure, in local core-seconds: 0 bills the start-up floor only
    unmeasured_job_core_seconds: float = 0.0
    lake_storage_gb: float = 10.0  # all buckets: the 1M-encounter raw set is 0.44 GB gzip; Parquet layers, versions
    s3_put_requests_per_job_run: int = 1_000  # PUT/COPY/POST/LIST: Parquet files, Iceberg metadata, manifests
    s3_get_requests_per_job_run: int = 10_000  # GET/HEAD: input files, Iceberg metadata and data files
    glue_log_mb_per_job_run: float = 20.0  # driver + executor logs, continuous logging and metrics
    flow_log_gb_per_month: float = 0.5  # VPC flow logs of the Glue ENIs and RDS (ALL traffic)
    endpoint_gb_per_month: float = 1.0  # through the interface endpoints (S3 goes through the free gateway)
    kms_requests_per_job_run: int = 2_000  # S3 bucket keys keep SSE-KMS calls per object low
    athena_queries_per_month: int = 300
    athena_mb_scanned_per_query: float = 10.0  # Athena bills at least 10 MB per query
    alerts_per_month: int = 30  # SNS notifications: failed or late jobs
    # a crawl of a pipeline's raw prefixes (Glue sizes crawlers itself; nothing here measured one)
    crawler_dpus: float = 2.0
    crawl_minutes: float = 5.0


DEFAULT_WORKLOAD = Workload()

# --- prices ----------------------------------------------------------------------------------------

PRICE_KEYS: dict[str, str] = {  # price -> its unit, for messages and the table
    "glue_dpu_hour_standard": "USD per DPU-hour (STANDARD)",
    "glue_dpu_hour_flex": "USD per DPU-hour (FLEX)",
    "rds_gp3_gb_month_single_az": "USD per GB-month",
    "rds_gp3_gb_month_multi_az": "USD per GB-month",
    "secret_month": "USD per secret-month",
    "interface_endpoint_az_hour": "USD per endpoint per AZ-hour",
    "interface_endpoint_gb": "USD per GB processed",
    "s3_standard_gb_month": "USD per GB-month",
    "s3_put_per_1000": "USD per 1,000 PUT/COPY/POST/LIST",
    "s3_get_per_1000": "USD per 1,000 GET/HEAD",
    "logs_ingest_gb": "USD per GB ingested",
    "logs_vended_ingest_gb": "USD per GB ingested (vended: VPC flow logs)",
    "logs_storage_gb_month": "USD per GB-month",
    "kms_key_month": "USD per key-month",
    "kms_per_10000_requests": "USD per 10,000 requests",
    "athena_tb_scanned": "USD per TB scanned",
    "sns_publish_per_million": "USD per million publishes",
    "sns_email_per_100000": "USD per 100,000 e-mail deliveries",
    "glue_crawler_dpu_hour": "USD per crawler DPU-hour",
    "glue_crawler_min_billed_seconds": "seconds billed at least per crawl (the crawler's billing minimum)",
    "sfn_standard_per_1000_transitions": "USD per 1,000 state transitions (standard workflows)",
    "cloudwatch_alarm_metric_month": "USD per standard-resolution alarm metric-month",
    "cloudwatch_dashboard_month": "USD per dashboard-month",
    "cloudwatch_custom_metric_month": "USD per custom metric-month (first 10,000 metrics)",
}

# On-demand list prices, PostgreSQL for RDS. Source: the AWS pricing pages of each service (Glue,
# RDS for PostgreSQL, PrivateLink, S3, CloudWatch, KMS, Athena, SNS, Secrets Manager), us-east-1, as
# listed in 2025; written from those pages, not fetched by this code (no network here), and not
# re-checked since: compare with the pages before relying on a figure. The Glue crawler, Step
# Functions and CloudWatch (alarms, dashboards, custom metrics) prices are us-east-1 list prices
# recorded the same way from those services' pricing pages (crawlers: per DPU-hour, billed per
# second with a 10-minute minimum per crawl; standard workflows: per state transition), not fetched:
# there is no internet access here.
PRICE_TABLES: dict[str, dict[str, Any]] = {
    "us-east-1": {
        "source": "AWS pricing pages, us-east-1 on-demand list prices as of 2025 (PostgreSQL for RDS)",
        "glue_dpu_hour_standard": 0.44,
        "glue_dpu_hour_flex": 0.29,
        "rds_instance_hour": {  # class -> single-AZ / Multi-AZ USD per instance-hour
            "db.t4g.micro": {"single_az": 0.016, "multi_az": 0.032},
            "db.t4g.small": {"single_az": 0.032, "multi_az": 0.064},
            "db.t4g.medium": {"single_az": 0.065, "multi_az": 0.130},
            "db.t4g.large": {"single_az": 0.129, "multi_az": 0.258},
            "db.t3.micro": {"single_az": 0.018, "multi_az": 0.036},
            "db.t3.small": {"single_az": 0.036, "multi_az": 0.072},
            "db.t3.medium": {"single_az": 0.072, "multi_az": 0.144},
            "db.m6g.large": {"single_az": 0.159, "multi_az": 0.318},
            "db.m5.large": {"single_az": 0.178, "multi_az": 0.356},
        },
        "rds_gp3_gb_month_single_az": 0.115,
        "rds_gp3_gb_month_multi_az": 0.23,
        "secret_month": 0.40,
        "interface_endpoint_az_hour": 0.01,
        "interface_endpoint_gb": 0.01,
        "s3_standard_gb_month": 0.023,
        "s3_put_per_1000": 0.005,
        "s3_get_per_1000": 0.0004,
        "logs_ingest_gb": 0.50,
        "logs_vended_ingest_gb": 0.50,
        "logs_storage_gb_month": 0.03,
        "kms_key_month": 1.00,
        "kms_per_10000_requests": 0.03,
        "athena_tb_scanned": 5.00,
        "sns_publish_per_million": 0.50,
        "sns_email_per_100000": 2.00,
        "glue_crawler_dpu_hour": 0.44,
        "glue_crawler_min_billed_seconds": 600,
        "sfn_standard_per_1000_transitions": 0.025,
        "cloudwatch_alarm_metric_month": 0.10,
        "cloudwatch_dashboard_month": 3.00,
        "cloudwatch_custom_metric_month": 0.30,
    },
}


def _is_price(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0


def price_table_problems(tables: Any, where: str = "price table") -> Problems:
    """Every problem of a price table ({region: {price key: USD, rds_instance_hour: {class: {...}}}}),
    each naming the key, the value and what is allowed."""
    p = Problems()
    if not isinstance(tables, Mapping) or not tables:
        p.add(where, tables, "a mapping of region (e.g. us-east-1) to its prices")
        return p
    for region, table in tables.items():
        at = f"{where}: {region}"
        if not isinstance(table, Mapping):
            p.add(at, table, f"a mapping of {sorted(PRICE_KEYS) + ['rds_instance_hour', 'source']}")
            continue
        if not isinstance(table.get("source"), str) or not table["source"].strip():
            p.add(f"{at}.source", table.get("source"), "where and when the prices were taken (text)")
        for key, unit in PRICE_KEYS.items():
            if not _is_price(table.get(key)):
                p.add(f"{at}.{key}", table.get(key), f"a number >= 0 ({unit})")
        unknown = sorted(set(table) - set(PRICE_KEYS) - {"source", "rds_instance_hour"})
        for key in unknown:
            p.add(f"{at}.{key}", table[key], f"one of the price keys {sorted(PRICE_KEYS) + ['rds_instance_hour']}")
        classes = table.get("rds_instance_hour")
        if not isinstance(classes, Mapping) or not classes:
            p.add(f"{at}.rds_instance_hour", classes, "a mapping of RDS class (db.*) to {single_az, multi_az} USD/hour")
            continue
        for cls, hourly in classes.items():
            if not str(cls).startswith("db."):
                p.add(f"{at}.rds_instance_hour", cls, "RDS instance classes such as db.t4g.micro")
            for az in ("single_az", "multi_az"):
                v = hourly.get(az) if isinstance(hourly, Mapping) else None
                if not _is_price(v):
                    p.add(f"{at}.rds_instance_hour.{cls}.{az}", v, "a number >= 0 (USD per instance-hour)")
    return p


def prices_for(region: str, tables: Mapping[str, Any] = PRICE_TABLES) -> Mapping[str, Any]:
    """The region's prices; ConfigError naming the region and the regions known when it has none."""
    price_table_problems(tables).raise_if_any()
    if region not in tables:
        raise ConfigError([f"aws:region: got {region!r}; allowed: a region of the price table: {sorted(tables)} "
                           "(add its prices to lakehouse/model/cost.py PRICE_TABLES or pass a price table)"])
    return tables[region]


# --- the estimate ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LineItem:
    service: str
    item: str
    quantity: float
    unit: str
    unit_price: float  # USD per unit
    assumption: str

    @property
    def monthly_usd(self) -> float:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Estimate:
    stack: str
    region: str
    prices_source: str
    runs_per_month: float
    runs_basis: str
    lines: tuple[LineItem, ...]

    @property
    def total(self) -> float:
        return sum(line.monthly_usd for line in self.lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack, "region": self.region, "prices_source": self.prices_source,
            "runs_per_month": round(self.runs_per_month, 4), "runs_basis": self.runs_basis,
            "lines": [{**asdict(line), "monthly_usd": round(line.monthly_usd, 4)} for line in self.lines],
            "total_usd": round(self.total, 4),
        }


def runs_per_month(cfg: StackConfig, workload: Workload = DEFAULT_WORKLOAD,
                   year: int = REFERENCE_YEAR) -> tuple[float, str]:
    """Runs of each pipeline's workflow a month, and what that figure rests on."""
    w = cfg.workflow
    if w.start_mode == "SCHEDULED":
        return fires_in_year(w.schedule, year) / 12, f"schedule {w.schedule}: its fires in {year} / 12"
    return workload.unscheduled_runs_per_month, (f"assumed {workload.unscheduled_runs_per_month:g} runs a month "
                                                 f"(start mode {w.start_mode}: no schedule)")


def job_run_seconds(worker_type: str, workers: int, core_seconds: float) -> float:
    """Projected wall seconds of one job run doing `core_seconds` of measured local work on `workers`
    workers: the billed start-up plus the work spread over the executors' vCPUs at the efficiency."""
    if workers < MIN_WORKERS:
        raise ValueError(f"workers: got {workers}; allowed: at least {MIN_WORKERS} (a driver and an executor)")
    executor_cores = (workers - 1) * DPU_PER_WORKER[worker_type] * VCPU_PER_DPU  # one worker is the driver
    return GLUE_STARTUP_SECONDS + core_seconds / (executor_cores * GLUE_PARALLEL_EFFICIENCY)


def job_run_dpu_hours(worker_type: str, workers: int, core_seconds: float) -> tuple[float, float]:
    """(billed seconds, DPU-hours) of one job run doing `core_seconds` of measured local work, every
    configured worker billed for the whole run (with auto scaling, a ceiling)."""
    billed_s = max(GLUE_MIN_BILLED_SECONDS, job_run_seconds(worker_type, workers, core_seconds))
    return billed_s, DPU_PER_WORKER[worker_type] * workers * billed_s / 3600


@dataclass(frozen=True)
class JobProjection:
    """One job run on Glue at its settings, from `core_seconds` of measured (or assumed) local work."""

    key: str  # pipeline.job
    worker_type: str
    workers: int  # with auto scaling: the maximum
    execution_class: str
    auto_scaling: bool
    timeout_minutes: int
    core_seconds: float
    measured: bool
    run_seconds: float  # at `workers`: the shortest run
    billed_seconds: float
    dpu_hours: float  # at `workers` for the whole run: with auto scaling, a ceiling
    dpu_hour_price: float  # USD, the execution class's

    @property
    def usd(self) -> float:
        return self.dpu_hours * self.dpu_hour_price

    @property
    def slowest_run_seconds(self) -> float:
        """With auto scaling, the run if Glue never adds a worker beyond the least (MIN_WORKERS)."""
        low = MIN_WORKERS if self.auto_scaling else self.workers
        return job_run_seconds(self.worker_type, low, self.core_seconds)

    def at_growth(self, factor: float) -> "JobProjection":
        """The same job doing `factor` x the work."""
        return project_job(self.key, self.worker_type, self.workers, self.execution_class, self.auto_scaling,
                           self.timeout_minutes, self.core_seconds * factor, self.measured, self.dpu_hour_price)


def project_job(key: str, worker_type: str, workers: int, execution_class: str, auto_scaling: bool,
                timeout_minutes: int, core_seconds: float, measured: bool, dpu_hour_price: float) -> JobProjection:
    billed_s, dpu_h = job_run_dpu_hours(worker_type, workers, core_seconds)
    return JobProjection(key, worker_type, workers, execution_class, auto_scaling, timeout_minutes, core_seconds,
                         measured, job_run_seconds(worker_type, workers, core_seconds), billed_s, dpu_h,
                         dpu_hour_price)


@dataclass(frozen=True)
class RunProjection:
    """One run of some pipelines' jobs (each once), at the stack's settings and the region's prices."""

    stack: str
    jobs: tuple[JobProjection, ...]

    @property
    def dpu_hours(self) -> float:
        return sum(j.dpu_hours for j in self.jobs)

    @property
    def usd(self) -> float:
        return sum(j.usd for j in self.jobs)


def measured_core_seconds() -> dict[str, float]:
    """MEASURED_WORK as core-seconds by job key (local seconds x MEASURED_LOCAL_CORES)."""
    return {k: s * MEASURED_LOCAL_CORES for k, s in MEASURED_WORK.items()}


def dpu_hour_price(prices: Mapping[str, Any], execution_class: str) -> float:
    return float(prices["glue_dpu_hour_flex" if execution_class == "FLEX" else "glue_dpu_hour_standard"])


def project_run(cfg: StackConfig, pipelines: Optional[Collection[str]] = None,
                work: Optional[Mapping[str, float]] = None, workload: Workload = DEFAULT_WORKLOAD,
                region: str = "us-east-1", tables: Mapping[str, Any] = PRICE_TABLES) -> RunProjection:
    """One daily run of `pipelines` (default: every deployed one), each job once in workflow order, from
    `work` (core-seconds by job key; default the benchmark's, `measured_core_seconds()`); a job without
    a figure is projected at workload.unmeasured_job_core_seconds and marked not measured."""
    return _project(cfg, prices_for(region, tables), pipelines, work, workload)


def _project(cfg: StackConfig, prices: Mapping[str, Any], pipelines: Optional[Collection[str]],
             work: Optional[Mapping[str, float]], workload: Workload) -> RunProjection:
    work = measured_core_seconds() if work is None else work
    known = [p.name for p in cfg.pipelines]
    unknown = sorted(set(pipelines or ()) - set(known))
    if unknown:
        raise ConfigError([f"pipelines: got {unknown}; allowed: the stack's pipelines {known}"])
    jobs = []
    for p in cfg.pipelines:
        if pipelines is not None and p.name not in pipelines:
            continue
        for job in p.topological_order():
            s = cfg.job_settings[job.key]
            measured = job.key in work
            core_s = work[job.key] if measured else workload.unmeasured_job_core_seconds
            jobs.append(project_job(job.key, s.worker_type, s.number_of_workers, s.execution_class, s.auto_scaling,
                                    s.timeout_minutes, core_s, measured, dpu_hour_price(prices, s.execution_class)))
    return RunProjection(cfg.stack, tuple(jobs))


def _glue_lines(cfg: StackConfig, prices: Mapping[str, Any], runs: float, workload: Workload) -> list[LineItem]:
    lines = []
    run = _project(cfg, prices, None, None, workload)
    for j in run.jobs:
        work = (f"benchmark work {j.core_seconds:g} core-s" if j.measured else
                f"not benchmarked, {j.core_seconds:g} core-s assumed (unmeasured_job_core_seconds): a lower bound")
        scaling = ", every worker billed (auto scaling on: a ceiling)" if j.auto_scaling else ""
        lines.append(LineItem(
            "Glue", f"{j.key} {j.workers} x {j.worker_type} {j.execution_class}",
            j.dpu_hours * runs, "DPU-hour", dpu_hour_price(prices, j.execution_class),
            f"{j.dpu_hours:.3f} DPU-h x {runs:g} runs: {j.billed_seconds:.0f} s billed a run, {work}{scaling}"))
    return lines


def _database_lines(cfg: StackConfig, prices: Mapping[str, Any]) -> list[LineItem]:
    db = cfg.database
    if not (cfg.needs_connection and db.mode == "create"):
        return []
    classes = prices["rds_instance_hour"]
    if db.instance_class not in classes:
        raise ConfigError([f"glue-lakehouse:dbInstanceClass: got {db.instance_class!r}; allowed: a class of the "
                           f"price table: {sorted(classes)}"])
    az = "multi_az" if db.multi_az else "single_az"
    deployment = "Multi-AZ" if db.multi_az else "single-AZ"
    return [
        LineItem("RDS", f"PostgreSQL {db.instance_class} {deployment}", HOURS_PER_MONTH, "instance-hour",
                 classes[db.instance_class][az], f"always on, {HOURS_PER_MONTH} h a month"),
        LineItem("RDS", f"gp3 storage {deployment}", db.allocated_storage_gb, "GB-month",
                 prices[f"rds_gp3_gb_month_{az}"],
                 f"dbAllocatedStorageGb; backups ({db.backup_retention_days} days) within the free allowance "
                 "of one allocated size"),
        LineItem("Secrets Manager", "RDS-managed master password", 1, "secret-month", prices["secret_month"],
                 "manage_master_user_password: RDS stores and rotates it"),
    ]


def _network_lines(cfg: StackConfig, prices: Mapping[str, Any], workload: Workload) -> list[LineItem]:
    if not (cfg.needs_connection and cfg.network.create):
        return []  # an existing VPC's endpoints are paid for by whoever runs it
    endpoints = len(INTERFACE_ENDPOINT_SERVICES)
    return [
        LineItem("VPC endpoints", f"{endpoints} interface endpoints x {CREATED_NETWORK_AZS} AZs",
                 endpoints * CREATED_NETWORK_AZS * HOURS_PER_MONTH, "endpoint-AZ-hour",
                 prices["interface_endpoint_az_hour"],
                 f"{', '.join(INTERFACE_ENDPOINT_SERVICES)}; always on; S3 through its gateway endpoint (free)"),
        LineItem("VPC endpoints", "data processed", workload.endpoint_gb_per_month, "GB",
                 prices["interface_endpoint_gb"],
                 f"assumed {workload.endpoint_gb_per_month:g} GB (endpoint_gb_per_month)"),
        LineItem("CloudWatch Logs", "VPC flow logs ingested", workload.flow_log_gb_per_month, "GB",
                 prices["logs_vended_ingest_gb"],
                 f"assumed {workload.flow_log_gb_per_month:g} GB (flow_log_gb_per_month)"),
        LineItem("CloudWatch Logs", "VPC flow logs stored",
                 workload.flow_log_gb_per_month * cfg.log_retention_days / DAYS_PER_MONTH, "GB-month",
                 prices["logs_storage_gb_month"],
                 f"steady state: {cfg.log_retention_days} days retained (logRetentionDays), uncompressed (a ceiling)"),
    ]


def crawl_dpu_hours(prices: Mapping[str, Any], workload: Workload) -> tuple[float, float]:
    """(billed seconds, DPU-hours) of one crawl: the assumed minutes, at least the billing minimum."""
    billed_s = max(float(prices["glue_crawler_min_billed_seconds"]), workload.crawl_minutes * 60)
    return billed_s, workload.crawler_dpus * billed_s / 3600


def crawler_polls(workload: Workload) -> int:
    """Polls of the state machine's crawler loop: one a CRAWLER_POLL_SECONDS until the crawl has ended."""
    return max(1, math.ceil(workload.crawl_minutes * 60 / CRAWLER_POLL_SECONDS))


def _orchestration_lines(cfg: StackConfig, prices: Mapping[str, Any], runs: float,
                         workload: Workload) -> list[LineItem]:
    lines = []
    for p in cfg.pipelines:
        if p.crawler is not None:  # crawled once a run, before its first jobs (workflow or state machine)
            billed_s, dpu_h = crawl_dpu_hours(prices, workload)
            lines.append(LineItem(
                "Glue crawlers", f"{p.name} crawler", dpu_h * runs, "DPU-hour", prices["glue_crawler_dpu_hour"],
                f"{dpu_h:.3f} DPU-h a crawl x {runs:g} crawls (one a run): assumed {workload.crawler_dpus:g} DPUs x "
                f"{workload.crawl_minutes:g} min (crawler_dpus, crawl_minutes), billed at least "
                f"{float(prices['glue_crawler_min_billed_seconds']) / 60:g} min: {billed_s:.0f} s"))
        if p.orchestrator == "step_functions":
            # names do not change the count: the pipeline's own job names stand in for the Glue ones
            document = definition(p, {j.name: j.name for j in p.jobs}, "arn:aws:sns:::alerts",
                                  "crawler" if p.crawler is not None else None)
            polls = crawler_polls(workload) if p.crawler is not None else 0
            transitions = transitions_per_execution(document, polls)
            polled = f"; its crawler's poll loop {polls} times, for crawl_minutes" if polls else ""
            lines.append(LineItem(
                "Step Functions", f"{p.name} state machine (standard)", transitions * runs / 1000,
                "1,000 transitions", prices["sfn_standard_per_1000_transitions"],
                f"{transitions} transitions an execution x {runs:g} executions: every state of a run that succeeds "
                f"at the first try{polled}; retries not counted, free tier not deducted"))
    return lines


def _cloudwatch_lines(cfg: StackConfig, region: str, prices: Mapping[str, Any], runs: float) -> list[LineItem]:
    # the same plan the stack deploys (__main__.py); the account only shapes bucket names, not counts
    db = "postgres" if cfg.needs_connection and cfg.database.mode == "create" else None
    plan = monitoring_plan(cfg, lake_names(cfg, "000000000000"), region, db)
    alarms = alarm_specs(plan)
    watched = sum(alarm_metrics(a) for a in alarms)
    metrics = len(published_metrics(plan))
    hours = min(runs, HOURS_PER_MONTH)
    return [
        LineItem("CloudWatch", "alarms", watched, "alarm metric-month", prices["cloudwatch_alarm_metric_month"],
                 f"the {len(alarms)} alarms of lakehouse.model.monitoring watch {watched} metrics (a metric-math "
                 "alarm bills each metric it reads), standard resolution, always on; free tier not deducted"),
        LineItem("CloudWatch", "dashboard", 1, "dashboard-month", prices["cloudwatch_dashboard_month"],
                 "the stack's dashboard; free tier (3 dashboards) not deducted"),
        LineItem("CloudWatch", "custom metrics", metrics * hours / HOURS_PER_MONTH, "metric-month",
                 prices["cloudwatch_custom_metric_month"],
                 f"{metrics} metrics, RunStarted and the row counts of {len(plan.jobs)} jobs (monitoring."
                 f"published_metrics), billed for the hours with data: one a run each, {hours:g} of "
                 f"{HOURS_PER_MONTH} h"),
    ]


def estimate(cfg: StackConfig, region: str, workload: Workload = DEFAULT_WORKLOAD,
             tables: Mapping[str, Any] = PRICE_TABLES, year: int = REFERENCE_YEAR) -> Estimate:
    """The stack's monthly line items at the region's prices."""
    prices = prices_for(region, tables)
    runs, basis = runs_per_month(cfg, workload, year)
    job_runs = runs * len(cfg.job_settings)
    w = workload
    lines = _glue_lines(cfg, prices, runs, w) + _orchestration_lines(cfg, prices, runs, w)
    lines += _database_lines(cfg, prices) + _network_lines(cfg, prices, w)
    log_gb = w.glue_log_mb_per_job_run * job_runs / 1024
    lines += [
        LineItem("S3", "Standard storage, all buckets", w.lake_storage_gb, "GB-month", prices["s3_standard_gb_month"],
                 f"assumed {w.lake_storage_gb:g} GB (lake_storage_gb), all in S3 Standard: lifecycle "
                 "transitions to IA / Glacier not counted"),
        LineItem("S3", "PUT/COPY/POST/LIST requests", w.s3_put_requests_per_job_run * job_runs / 1000, "1,000 requests",
                 prices["s3_put_per_1000"],
                 f"assumed {w.s3_put_requests_per_job_run:,} a job run x {job_runs:g} job runs"),
        LineItem("S3", "GET/HEAD requests", w.s3_get_requests_per_job_run * job_runs / 1000, "1,000 requests",
                 prices["s3_get_per_1000"],
                 f"assumed {w.s3_get_requests_per_job_run:,} a job run x {job_runs:g} job runs"),
        LineItem("CloudWatch Logs", "Glue job logs ingested", log_gb, "GB", prices["logs_ingest_gb"],
                 f"assumed {w.glue_log_mb_per_job_run:g} MB a job run x {job_runs:g} job runs"),
        LineItem("CloudWatch Logs", "Glue job logs stored", log_gb * cfg.log_retention_days / DAYS_PER_MONTH,
                 "GB-month", prices["logs_storage_gb_month"],
                 f"steady state: {cfg.log_retention_days} days retained (logRetentionDays), uncompressed (a ceiling)"),
        LineItem("KMS", "customer managed keys", KMS_KEYS, "key-month", prices["kms_key_month"],
                 "the lake key (LakeBuckets)"),
        LineItem("KMS", "requests", w.kms_requests_per_job_run * job_runs / 10_000, "10,000 requests",
                 prices["kms_per_10000_requests"],
                 f"assumed {w.kms_requests_per_job_run:,} a job run x {job_runs:g} job runs (free tier not deducted)"),
    ]
    if gold_tables(cfg.pipelines):
        mb = max(10.0, w.athena_mb_scanned_per_query)
        lines.append(LineItem("Athena", "data scanned", w.athena_queries_per_month * mb / 1024 / 1024, "TB",
                              prices["athena_tb_scanned"],
                              f"assumed {w.athena_queries_per_month} queries x {mb:g} MB (10 MB minimum a query)"))
    lines.append(LineItem("SNS", "alert publishes", w.alerts_per_month / 1_000_000, "million publishes",
                          prices["sns_publish_per_million"], f"assumed {w.alerts_per_month} alerts a month"))
    lines += _cloudwatch_lines(cfg, region, prices, runs)
    if cfg.alert_email:
        lines.append(LineItem("SNS", "e-mail deliveries", w.alerts_per_month / 100_000, "100,000 e-mails",
                              prices["sns_email_per_100000"], f"alertEmail subscribed; {w.alerts_per_month} alerts"))
    return Estimate(cfg.stack, region, str(prices["source"]), runs, basis, tuple(lines))
