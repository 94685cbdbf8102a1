"""The stack's CloudWatch dashboard and alarms, as pure data (components/lake_monitoring.py creates them).

Metrics watched:
- Glue's own, in namespace `Glue`, published because the platform sets `--enable-metrics` and
  `--enable-observability-metrics` on every job (lakehouse.model.platform), dimension JobName with
  JobRunId=ALL (every run of the job): `glue.succeed.ALL` / `glue.error.ALL` (observability metrics,
  Glue 4.0 and later; Type=count, ObservabilityGroup=error; Sum = runs that succeeded / failed) and
  `glue.driver.aggregate.elapsedTime` (job metrics; Type=count; milliseconds of ETL time, without
  start-up). Glue publishes no DPU-hours metric: the dashboard estimates them as elapsed hours x
  configured workers x DPU per worker (an upper bound with auto scaling; the bill is per second of
  the whole run, start-up included, so it may be slightly more for short runs).
- The jobs' own (lakelib.runtime.metrics), in the stack's namespace GlueLakehouse/<prefix>-<stack>,
  dimensions Stack, Pipeline, Job: RunStarted and the reconciled row counts. The table-maintenance job
  (JobSpec.is_maintenance) reports RowsInput = RowsAccepted = the rows of the tables it maintained and
  RowsQuarantined = 0 on every run (lakelib.maintenance.jobs): it reads no input and quarantines nothing,
  so it has no quarantine alarm and no rows widget; its runs, failures, duration and DPU-hours are
  watched like every job's.
- AWS/RDS for the instance the stack creates (databaseMode create): CPUUtilization,
  DatabaseConnections, FreeStorageSpace (bytes).

Alarms (`alarm_specs`), each sending ALARM and OK to the alerts topic:
- `<base>-<pipeline>-<job>-quarantine`: 100 * quarantined / input of one run-hour of the job above
  quarantineShareAlarmPercent (metric math; an hour without input is no breach). One per job, so the
  message names the job whose input went bad; the pipeline's jobs together are its quarantine view.
  Not for the maintenance job (above): its share is 0 by construction.
- `<base>-<pipeline>-not-started` (SCHEDULED workflows only): no RunStarted from the pipeline's first
  job within the longest gap between two scheduled starts plus START_GRACE_SECONDS; missing data is
  breaching. Derived from the cron (`start_check_period`) for schedules that repeat every week (every
  day, or on listed weekdays), month and year unrestricted, at most 7 days apart with the grace
  (CloudWatch's longest evaluation range); for any other schedule (day-of-month lists, L, W, #, months,
  years) no such alarm can be expressed and none is created (`start_check_period` returns None).
- `<base>-rds-free-storage` / `<base>-rds-cpu` when the stack creates its database.
Job failures (FAILED, TIMEOUT, ERROR, STOPPED) and runs past notifyDelayMinutes are EventBridge rules
of each job (components/glue_job.py), to the same topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from .config import MonitoringSettings, StackConfig
from .names import LakeNames, job_names
from .schedule import CRON_FORM, FIELDS, _plain_values, cron_problems

GLUE_NAMESPACE = "Glue"
RDS_NAMESPACE = "AWS/RDS"
METRIC_DIMENSIONS = ("Stack", "Pipeline", "Job")  # lakelib.runtime.metrics.METRIC_DIMENSIONS
RUN_STARTED_METRIC = "RunStarted"
ROW_METRICS = {"input": "RowsInput", "accepted": "RowsAccepted", "quarantined": "RowsQuarantined",
               "waiting": "RowsWaiting"}
GLUE_SUCCEEDED, GLUE_FAILED = "glue.succeed.ALL", "glue.error.ALL"
GLUE_ELAPSED = "glue.driver.aggregate.elapsedTime"
DPU_PER_WORKER = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}
DASHBOARD_PERIOD = 3600  # one point per hour
QUARANTINE_PERIOD = 3600  # a run's counts land within the hour they are published
START_GRACE_SECONDS = 3600  # a scheduled run may start this late (queueing, FLEX capacity) before it alarms
MAX_EVALUATION_SECONDS = 7 * 24 * 3600  # CloudWatch: Period x EvaluationPeriods <= 604,800 s
GIB = 1024 ** 3
WEEK_MINUTES = 7 * 24 * 60


def metric_dimensions(stack: str, pipeline: str, job: str) -> dict[str, str]:
    return dict(zip(METRIC_DIMENSIONS, (stack, pipeline, job)))


# --- how long may pass without a scheduled start -------------------------------------------------

def _values(index: int, text: str) -> Optional[set[int]]:
    """Values of a plain cron field (value, range, list, step, *); None for L, W or #."""
    f = FIELDS[index]
    if "#" in text or text.upper().endswith("L"):  # valid already (cron_problems): <day>#<n>, L, <day>L
        return None
    return _plain_values(f, text)


def start_check_period(expression: str) -> Optional[int]:
    """Seconds within which a run of `expression` must have started: the longest gap between two
    consecutive scheduled starts plus START_GRACE_SECONDS, rounded up to whole minutes (a CloudWatch
    period). None when the schedule is not weekly-periodic (module docstring) or the result exceeds
    CloudWatch's 7-day evaluation range. ValueError for an invalid expression."""
    broken = cron_problems(expression)
    if broken:
        raise ValueError(f"{expression!r}: " + "; ".join(broken))
    minutes, hours, dom, month, dow, year = CRON_FORM.match(expression.strip()).group(1).split()
    if month != "*" or year != "*" or dom not in ("*", "?"):
        return None
    days = set(range(1, 8)) if dow in ("*", "?") else _values(4, dow)
    mins, hrs = _values(0, minutes), _values(1, hours)
    if days is None or mins is None or hrs is None:
        return None
    starts = sorted((d - 1) * 1440 + h * 60 + m for d in days for h in hrs for m in mins)
    gaps = [b - a for a, b in zip(starts, starts[1:])] + [starts[0] + WEEK_MINUTES - starts[-1]]
    period = max(gaps) * 60 + START_GRACE_SECONDS
    return period if period <= MAX_EVALUATION_SECONDS else None


# --- the plan: what is watched ------------------------------------------------------------------

@dataclass(frozen=True)
class MonitoredJob:
    pipeline: str
    job: str  # the declared name: the Job dimension of the custom metrics
    glue_name: str  # the Glue job: the JobName dimension of Glue's metrics
    worker_type: str
    number_of_workers: int
    maintenance: bool = False  # the table-maintenance job: no row counts of its own (module docstring)

    @property
    def counts_rows(self) -> bool:
        """Whether its RowsInput/RowsQuarantined describe rows it processed (a quarantine share can exist)."""
        return not self.maintenance


@dataclass(frozen=True)
class MonitoringPlan:
    stack: str  # the Stack dimension
    base: str  # <prefix>-<stack>: every alarm name starts with it
    region: str
    namespace: str  # the jobs' custom metrics
    dashboard: str
    jobs: tuple[MonitoredJob, ...]
    first_jobs: Mapping[str, str]  # pipeline -> the job its workflow starts first
    settings: MonitoringSettings
    schedule: Optional[str] = None  # the cron of SCHEDULED workflows; None otherwise
    db_instance: Optional[str] = None  # the RDS instance the stack creates
    pipelines: tuple[str, ...] = field(default=())

    def jobs_of(self, pipeline: str) -> tuple[MonitoredJob, ...]:
        return tuple(j for j in self.jobs if j.pipeline == pipeline)


def monitoring_plan(cfg: StackConfig, names: LakeNames, region: str, db_instance: Optional[str]) -> MonitoringPlan:
    """What the stack watches. `db_instance`: the identifier of the RDS instance the stack creates, else None."""
    jobs = tuple(
        MonitoredJob(p.name, j.name, job_names(cfg, j).job, cfg.job_settings[j.key].worker_type,
                     cfg.job_settings[j.key].number_of_workers, maintenance=j.is_maintenance)
        for p in cfg.pipelines for j in p.topological_order())
    return MonitoringPlan(
        stack=cfg.stack, base=names.base, region=region, namespace=names.metrics_namespace,
        dashboard=names.dashboard, jobs=jobs, first_jobs={p.name: p.topological_order()[0].name for p in cfg.pipelines},
        settings=cfg.monitoring, schedule=cfg.workflow.schedule if cfg.workflow.start_mode == "SCHEDULED" else None,
        db_instance=db_instance, pipelines=tuple(p.name for p in cfg.pipelines))


def published_metrics(plan: MonitoringPlan) -> list[tuple[MonitoredJob, str]]:
    """(job, metric name) of every custom metric the jobs publish (lakelib.runtime.metrics): one metric
    per name and Stack/Pipeline/Job dimensions. RunStarted and the row counts; RowsWaiting counted for
    every job but the maintenance job (only a job holding records back publishes it: a ceiling), which
    reports input, accepted and quarantined but never waiting (lakelib.maintenance.jobs)."""
    out = []
    for j in plan.jobs:
        rows = [name for key, name in ROW_METRICS.items() if j.counts_rows or key != "waiting"]
        out += [(j, RUN_STARTED_METRIC)] + [(j, name) for name in rows]
    return out


# --- alarms ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AlarmSpec:
    """One MetricAlarm: either one metric (`metric`) or metric math (`queries`, one returning data)."""

    key: str  # the resource's logical-name suffix
    name: str
    description: str
    comparison: str
    threshold: float
    evaluation_periods: int
    treat_missing_data: str
    metric: Optional[dict] = None  # namespace, metric_name, dimensions, period, statistic
    queries: tuple[dict, ...] = ()  # id, expression | metric {namespace, metric_name, dimensions, period, stat}
    datapoints_to_alarm: Optional[int] = None


def _custom(plan: MonitoringPlan, metric: str, job: MonitoredJob, period: int, stat: str) -> dict:
    return {"namespace": plan.namespace, "metric_name": metric, "period": period, "stat": stat,
            "dimensions": metric_dimensions(plan.stack, job.pipeline, job.job)}


def quarantine_alarm(plan: MonitoringPlan, job: MonitoredJob) -> AlarmSpec:
    percent = plan.settings.quarantine_share_percent
    return AlarmSpec(
        key=f"{job.pipeline}-{job.job}-quarantine", name=f"{plan.base}-{job.pipeline}-{job.job}-quarantine",
        description=f"{job.pipeline}.{job.job} quarantined more than {percent}% of its input rows within an hour "
                    "(RowsQuarantined / RowsInput); see docs/operations.md#monitoring",
        comparison="GreaterThanThreshold", threshold=float(percent), evaluation_periods=1,
        treat_missing_data="notBreaching",  # no run in the hour: nothing quarantined
        queries=(
            {"id": "quarantined", "metric": _custom(plan, ROW_METRICS["quarantined"], job, QUARANTINE_PERIOD, "Sum")},
            {"id": "rows", "metric": _custom(plan, ROW_METRICS["input"], job, QUARANTINE_PERIOD, "Sum")},
            # an hour whose runs read nothing quarantined nothing (no division by zero)
            {"id": "share", "expression": "IF(rows > 0, 100 * quarantined / rows, 0)",
             "label": "quarantined % of input", "return_data": True},
        ))


def not_started_alarm(plan: MonitoringPlan, pipeline: str) -> Optional[AlarmSpec]:
    if plan.schedule is None:
        return None
    period = start_check_period(plan.schedule)
    if period is None:
        return None
    first = next(j for j in plan.jobs if j.pipeline == pipeline and j.job == plan.first_jobs[pipeline])
    metric = _custom(plan, RUN_STARTED_METRIC, first, period, "Sum")
    return AlarmSpec(
        key=f"{pipeline}-not-started", name=f"{plan.base}-{pipeline}-not-started",
        description=f"{pipeline}: no run of {first.job} started within {period // 60} minutes ({plan.schedule} "
                    f"plus {START_GRACE_SECONDS // 60} minutes' grace); see docs/operations.md#monitoring",
        comparison="LessThanThreshold", threshold=1.0, evaluation_periods=1,
        treat_missing_data="breaching",  # no RunStarted at all is exactly what this alarm is for
        metric={**{k: v for k, v in metric.items() if k != "stat"}, "statistic": "Sum"})


def rds_alarms(plan: MonitoringPlan) -> list[AlarmSpec]:
    if not plan.db_instance:
        return []
    s, dims = plan.settings, {"DBInstanceIdentifier": plan.db_instance}
    return [
        AlarmSpec(
            key="rds-free-storage", name=f"{plan.base}-rds-free-storage",
            description=f"{plan.db_instance}: free storage below {s.rds_free_storage_gb} GiB for 10 minutes; "
                        "see docs/operations.md#monitoring",
            comparison="LessThanThreshold", threshold=float(s.rds_free_storage_gb * GIB), evaluation_periods=2,
            treat_missing_data="missing",
            metric={"namespace": RDS_NAMESPACE, "metric_name": "FreeStorageSpace", "dimensions": dims,
                    "period": 300, "statistic": "Minimum"}),
        AlarmSpec(
            key="rds-cpu", name=f"{plan.base}-rds-cpu",
            description=f"{plan.db_instance}: CPU above {s.rds_cpu_percent}% for 15 minutes; "
                        "see docs/operations.md#monitoring",
            comparison="GreaterThanThreshold", threshold=float(s.rds_cpu_percent), evaluation_periods=3,
            treat_missing_data="missing",
            metric={"namespace": RDS_NAMESPACE, "metric_name": "CPUUtilization", "dimensions": dims,
                    "period": 300, "statistic": "Average"}),
    ]


def alarm_specs(plan: MonitoringPlan) -> list[AlarmSpec]:
    """Every alarm of the stack (module docstring)."""
    specs = [quarantine_alarm(plan, j) for j in plan.jobs if j.counts_rows]
    specs += [a for p in plan.pipelines if (a := not_started_alarm(plan, p)) is not None]
    return specs + rds_alarms(plan)


def alarm_metrics(spec: AlarmSpec) -> int:
    """How many metrics the alarm watches (CloudWatch bills an alarm per metric it evaluates)."""
    return 1 if spec.metric is not None else sum(1 for q in spec.queries if "metric" in q)


def alarm_names(plan: MonitoringPlan) -> list[str]:
    """The alarms' names, known before they exist: the alerts topic lets exactly these publish."""
    return [a.name for a in alarm_specs(plan)]


# --- the dashboard -----------------------------------------------------------------------------

def _glue(metric: str, job: MonitoredJob, **extra: str) -> list:
    dims = ["JobName", job.glue_name, "JobRunId", "ALL", "Type", "count", *[x for kv in extra.items() for x in kv]]
    return [GLUE_NAMESPACE, metric, *dims]


def _widget(title: str, metrics: list, plan: MonitoringPlan, y: int, x: int, stat: str, width: int = 6,
            **props: Any) -> dict:
    return {"type": "metric", "x": x, "y": y, "width": width, "height": 6,
            "properties": {"title": title, "view": "timeSeries", "region": plan.region, "stat": stat,
                           "period": DASHBOARD_PERIOD, "metrics": metrics, **props}}


def _job_widgets(plan: MonitoringPlan, pipeline: str, y: int) -> list[dict]:
    jobs = plan.jobs_of(pipeline)
    error = {"ObservabilityGroup": "error"}
    runs = [_glue(m, j, **error) + [{"label": f"{j.job} {what}"}]
            for j in jobs for m, what in ((GLUE_SUCCEEDED, "succeeded"), (GLUE_FAILED, "failed"))]
    failures = [_glue(GLUE_FAILED, j, **error) + [{"label": j.job}] for j in jobs]
    duration, dpu = [], []
    for i, j in enumerate(jobs):
        duration += [_glue(GLUE_ELAPSED, j) + [{"id": f"t{i}", "visible": False}],
                     [{"expression": f"t{i} / 60000", "label": f"{j.job} (minutes)", "id": f"m{i}"}]]
        per_hour = j.number_of_workers * DPU_PER_WORKER.get(j.worker_type, 1)
        dpu += [_glue(GLUE_ELAPSED, j) + [{"id": f"t{i}", "visible": False}],
                [{"expression": f"t{i} / 3600000 * {per_hour}", "label": f"{j.job} ({j.number_of_workers} x "
                  f"{j.worker_type})", "id": f"d{i}"}]]
    return [
        _widget(f"{pipeline}: job runs (succeeded / failed)", runs, plan, y, 0, "Sum"),
        _widget(f"{pipeline}: job failures", failures, plan, y, 6, "Sum"),
        _widget(f"{pipeline}: longest run (ETL minutes)", duration, plan, y, 12, "Maximum"),
        _widget(f"{pipeline}: DPU-hours (estimate: workers x DPU x elapsed)", dpu, plan, y, 18, "Maximum"),
    ]


def _row_widgets(plan: MonitoringPlan, pipeline: str, y: int) -> list[dict]:
    out = []
    for i, j in enumerate([j for j in plan.jobs_of(pipeline) if j.counts_rows]):
        dims = [x for kv in metric_dimensions(plan.stack, j.pipeline, j.job).items() for x in kv]
        metrics = [[plan.namespace, name, *dims, {"label": key}] for key, name in ROW_METRICS.items()]
        out.append(_widget(f"{pipeline}.{j.job}: rows in / accepted / quarantined / waiting", metrics, plan,
                           y + 6 * (i // 4), 6 * (i % 4), "Sum"))
    return out


def _rds_widgets(plan: MonitoringPlan, y: int) -> list[dict]:
    dims = ["DBInstanceIdentifier", plan.db_instance]
    return [
        _widget("RDS CPU (%)", [[RDS_NAMESPACE, "CPUUtilization", *dims]], plan, y, 0, "Average", width=8,
                period=300, annotations={"horizontal": [
                    {"label": "alarm", "value": plan.settings.rds_cpu_percent}]}),
        _widget("RDS connections", [[RDS_NAMESPACE, "DatabaseConnections", *dims]], plan, y, 8, "Maximum", width=8,
                period=300),
        _widget("RDS free storage (bytes)", [[RDS_NAMESPACE, "FreeStorageSpace", *dims]], plan, y, 16, "Minimum",
                width=8, period=300, annotations={"horizontal": [
                    {"label": "alarm", "value": plan.settings.rds_free_storage_gb * GIB}]}),
    ]


def _text(markdown: str, y: int) -> dict:
    return {"type": "text", "x": 0, "y": y, "width": 24, "height": 1, "properties": {"markdown": markdown}}


def dashboard_body(plan: MonitoringPlan) -> dict:
    """The dashboard's body (CloudWatch dashboard body structure): per pipeline its jobs' runs, failures,
    duration and DPU-hours, then each job's rows (not the maintenance job's); the created database's CPU,
    connections and storage."""
    widgets, y = [], 0
    for pipeline in plan.pipelines:
        widgets.append(_text(f"## {pipeline}: jobs (Glue metrics) and rows (namespace {plan.namespace})", y))
        widgets += _job_widgets(plan, pipeline, y + 1)
        rows = _row_widgets(plan, pipeline, y + 7)
        widgets += rows
        y += 7 + 6 * ((len(rows) + 3) // 4)
    if plan.db_instance:
        widgets.append(_text(f"## database {plan.db_instance}", y))
        widgets += _rds_widgets(plan, y + 1)
    return {"start": "-P7D", "periodOverride": "inherit", "widgets": widgets}


# --- checking a body ---------------------------------------------------------------------------

ID_RE = re.compile(r"^[a-z][a-zA-Z0-9_]*$")


def dashboard_problems(body: Mapping[str, Any]) -> list[str]:
    """What CloudWatch would refuse or silently not draw in a dashboard body: widget fields and places,
    each metrics array entry ([namespace, name, dimension name/value pairs..., {options}] or
    [{"expression"}]), ids unique per widget and every id an expression uses defined."""
    problems = []
    for n, w in enumerate(body.get("widgets", [])):
        where = f"widget {n}"
        if w.get("type") not in ("metric", "text"):
            problems.append(f"{where}: type {w.get('type')!r}")
        if not (0 <= w.get("x", -1) and w.get("x", 0) + w.get("width", 0) <= 24 and w.get("y", -1) >= 0
                and 1 <= w.get("height", 0) <= 1000):
            problems.append(f"{where}: x/y/width/height {w.get('x')}/{w.get('y')}/{w.get('width')}/{w.get('height')}")
        if w.get("type") == "text":
            if not w.get("properties", {}).get("markdown"):
                problems.append(f"{where}: a text widget without markdown")
            continue
        props = w.get("properties", {})
        for key in ("region", "title", "metrics"):
            if not props.get(key):
                problems.append(f"{where}: no {key}")
        ids, used = set(), set()
        for i, entry in enumerate(props.get("metrics", [])):
            options = entry[-1] if entry and isinstance(entry[-1], dict) else {}
            if "id" in options:
                if not ID_RE.match(options["id"]) or options["id"] in ids:
                    problems.append(f"{where} metric {i}: id {options['id']!r} (lower-case start, unique)")
                ids.add(options["id"])
            if "expression" in options:
                if len(entry) != 1:
                    problems.append(f"{where} metric {i}: an expression stands alone")
                used |= set(re.findall(r"\b([a-z][a-zA-Z0-9_]*)\b", options["expression"]))
                continue
            plain = entry[:-1] if options else entry
            if len(plain) < 2 or len(plain) % 2 or not all(isinstance(x, str) and x for x in plain):
                problems.append(f"{where} metric {i}: [namespace, name, dimension name/value pairs...] {entry!r}")
        if missing := sorted(used - ids - {"if"}):
            problems.append(f"{where}: expressions use undefined ids {missing}")
    return problems
