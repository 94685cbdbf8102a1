"""lakehouse.model.monitoring: the dashboard body, the alarms, and how long a scheduled start may take."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from lakehouse.model.config import WORKER_TYPES, MonitoringSettings, load_stack_config
from lakehouse.model.monitoring import (
    DPU_PER_WORKER,
    GIB,
    MAX_EVALUATION_SECONDS,
    METRIC_DIMENSIONS,
    ROW_METRICS,
    RUN_STARTED_METRIC,
    START_GRACE_SECONDS,
    alarm_specs,
    dashboard_body,
    dashboard_problems,
    monitoring_plan,
    start_check_period,
)
from lakehouse.model.names import lake_names
from lakehouse.model.platform import PLATFORM_ARGUMENTS

ACCOUNT = "123456789012"
HOUR, DAY = 3600, 86400


def plan_of(stack: str, db: bool = True, **changes):
    cfg = load_stack_config(stack)
    if changes:
        cfg = replace(cfg, **changes)
    names = lake_names(cfg, ACCOUNT)
    return monitoring_plan(cfg, names, "us-east-1", f"{names.base}-postgres" if db else None)


def test_the_jobs_publish_under_the_names_the_model_watches():
    """lakelib cannot import lakehouse (it ships alone to Glue): the two spellings must agree."""
    from lakelib.runtime import metrics as published

    assert published.METRIC_DIMENSIONS == METRIC_DIMENSIONS
    assert published.ROW_METRICS == ROW_METRICS and published.RUN_STARTED == RUN_STARTED_METRIC


def test_every_job_gets_the_metric_arguments_the_glue_metrics_depend_on():
    keys = {a.key for a in PLATFORM_ARGUMENTS}
    assert {"--enable-metrics", "--enable-observability-metrics", "--metrics_namespace", "--metrics_stack"} <= keys
    assert set(DPU_PER_WORKER) == set(WORKER_TYPES)  # every worker type's DPU-hours can be estimated


# --- the schedule's start window ------------------------------------------------------------------

@pytest.mark.parametrize("cron, period", [
    ("cron(0 2 * * ? *)", DAY + START_GRACE_SECONDS),  # once a day
    ("cron(0 */6 * * ? *)", 6 * HOUR + START_GRACE_SECONDS),
    ("cron(0 2,20 * * ? *)", 18 * HOUR + START_GRACE_SECONDS),  # 20:00 -> 02:00 is 6 h, 02:00 -> 20:00 is 18 h
    ("cron(30 1 ? * MON-FRI *)", 3 * DAY + START_GRACE_SECONDS),  # Friday -> Monday
    ("cron(0/15 * * * ? *)", 15 * 60 + START_GRACE_SECONDS),
    ("cron(0 2 ? * SUN *)", None),  # a week + grace: beyond CloudWatch's 7-day evaluation range
    ("cron(0 2 1 * ? *)", None),  # monthly
    ("cron(0 2 ? * 6L *)", None),  # the last Friday
    ("cron(0 2 * 1-6 ? *)", None),  # half the year
])
def test_the_start_window_is_the_longest_gap_between_starts_plus_the_grace(cron, period):
    assert start_check_period(cron) == period
    if period is not None:
        assert period % 60 == 0 and period <= MAX_EVALUATION_SECONDS


def test_an_invalid_schedule_is_refused_naming_what_is_broken():
    with pytest.raises(ValueError, match="hours: 25 is not 0-23"):
        start_check_period("cron(0 25 * * ? *)")


# --- alarms ------------------------------------------------------------------------------------

def test_prod_alarms_cover_quarantine_per_job_missed_starts_per_pipeline_and_the_database():
    plan = plan_of("prod")
    specs = {a.name: a for a in alarm_specs(plan)}
    cfg = load_stack_config("prod")
    # the table-maintenance jobs quarantine nothing: no quarantine alarm (test below)
    jobs = [(p.name, j.name) for p in cfg.pipelines for j in p.topological_order() if not j.is_maintenance]
    # prod is SCHEDULED: every pipeline (a Glue workflow's or, for orders, a state machine's schedule rule) must start
    assert cfg.workflow.start_mode == "SCHEDULED" and "orders" in {p.name for p in cfg.pipelines}
    assert {f"lakehouse-prod-{p}-{j}-quarantine" for p, j in jobs} | {
        f"lakehouse-prod-{p.name}-not-started" for p in cfg.pipelines} | {
        "lakehouse-prod-rds-free-storage", "lakehouse-prod-rds-cpu"} == set(specs)

    q = specs["lakehouse-prod-fhir-silver-quarantine"]
    assert (q.comparison, q.threshold, q.treat_missing_data) == ("GreaterThanThreshold", 5.0, "notBreaching")
    by_id = {x["id"]: x for x in q.queries}
    assert by_id["share"]["expression"] == "IF(rows > 0, 100 * quarantined / rows, 0)"
    assert [x["id"] for x in q.queries if x.get("return_data")] == ["share"]
    assert by_id["quarantined"]["metric"] == {
        "namespace": "GlueLakehouse/lakehouse-prod", "metric_name": "RowsQuarantined", "period": HOUR, "stat": "Sum",
        "dimensions": {"Stack": "prod", "Pipeline": "fhir", "Job": "silver"}}
    assert by_id["rows"]["metric"]["metric_name"] == "RowsInput"

    started = specs["lakehouse-prod-fhir-not-started"]
    assert started.metric == {"namespace": "GlueLakehouse/lakehouse-prod", "metric_name": "RunStarted",
                              "dimensions": {"Stack": "prod", "Pipeline": "fhir", "Job": "bronze"},
                              "period": DAY + START_GRACE_SECONDS, "statistic": "Sum"}
    assert (started.comparison, started.threshold, started.treat_missing_data) == (
        "LessThanThreshold", 1.0, "breaching")

    storage, cpu = specs["lakehouse-prod-rds-free-storage"], specs["lakehouse-prod-rds-cpu"]
    assert storage.metric["dimensions"] == {"DBInstanceIdentifier": "lakehouse-prod-postgres"}
    assert (storage.metric["metric_name"], storage.metric["statistic"], storage.threshold) == (
        "FreeStorageSpace", "Minimum", 15 * GIB)
    assert (cpu.metric["metric_name"], cpu.comparison, cpu.threshold) == ("CPUUtilization", "GreaterThanThreshold", 80)
    for spec in specs.values():
        period = spec.metric["period"] if spec.metric else max(x["metric"]["period"] for x in spec.queries
                                                                if "metric" in x)
        limit = MAX_EVALUATION_SECONDS if period >= HOUR else DAY
        assert period * spec.evaluation_periods <= limit, spec.name


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_maintenance_jobs_get_no_quarantine_alarm_nor_row_widget_but_keep_their_run_widgets(stack):
    """The maintenance job (lakelib.maintenance.jobs) reports input = accepted = the maintained tables'
    rows and quarantined = 0 on every run: a quarantine alarm on it could never fire and its "rows in"
    are table sizes, not rows processed. Its runs, failures, duration and DPU-hours are watched like
    any other job's."""
    cfg = load_stack_config(stack)
    plan = plan_of(stack)
    declared = {(p.name, j.name) for p in cfg.pipelines for j in p.jobs if j.is_maintenance}
    # every pipeline of the stack writes Iceberg tables, so each has its maintenance job
    assert sorted(p for p, _ in declared) == sorted(p.name for p in cfg.pipelines)
    maintenance = [j for j in plan.jobs if (j.pipeline, j.job) in declared]
    others = [j for j in plan.jobs if (j.pipeline, j.job) not in declared]
    assert len(maintenance) == len(declared) and others
    quarantine = {a.key for a in alarm_specs(plan) if a.key.endswith("-quarantine")}
    assert quarantine == {f"{j.pipeline}-{j.job}-quarantine" for j in others}
    body = dashboard_body(plan)
    assert dashboard_problems(body) == []
    row_titles = [w["properties"]["title"] for w in body["widgets"]
                  if w["type"] == "metric" and ": rows in" in w["properties"]["title"]]
    assert sorted(row_titles) == sorted(f"{j.pipeline}.{j.job}: rows in / accepted / quarantined / waiting"
                                        for j in others)
    for j in maintenance:
        for title in ("job runs", "job failures", "longest run", "DPU-hours"):
            assert any(j.glue_name in m for m in metric_rows(body, f"{j.pipeline}: {title}")), (j, title)


def test_on_demand_stacks_have_no_missed_start_alarm_and_no_database_no_rds_alarms():
    names = {a.name for a in alarm_specs(plan_of("dev", db=False))}
    assert not any(n.endswith(("-not-started", "-rds-cpu", "-rds-free-storage")) for n in names)
    assert names and all(n.endswith("-quarantine") for n in names)


def test_a_schedule_no_alarm_can_express_gets_no_missed_start_alarm():
    cfg = load_stack_config("prod")
    monthly = replace(cfg, workflow=replace(cfg.workflow, schedule="cron(0 2 1 * ? *)"))
    names = lake_names(monthly, ACCOUNT)
    assert not any(a.name.endswith("-not-started")
                   for a in alarm_specs(monitoring_plan(monthly, names, "us-east-1", None)))


def test_thresholds_come_from_the_config():
    plan = plan_of("prod", monitoring=MonitoringSettings(quarantine_share_percent=12, rds_cpu_percent=55,
                                                         rds_free_storage_gb=30))
    specs = {a.key: a for a in alarm_specs(plan)}
    assert specs["fhir-gold-quarantine"].threshold == 12
    assert specs["rds-cpu"].threshold == 55 and specs["rds-free-storage"].threshold == 30 * GIB


# --- the dashboard -----------------------------------------------------------------------------

def metric_rows(body: dict, title_part: str) -> list[list]:
    return [m for w in body["widgets"] if w["type"] == "metric" and title_part in w["properties"]["title"]
            for m in w["properties"]["metrics"]]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_dashboard_body_is_well_formed(stack):
    body = dashboard_body(plan_of(stack))
    assert dashboard_problems(body) == []
    assert len(json.dumps(body)) < 1_000_000  # a dashboard body is at most 1 MB
    assert all(w["properties"]["region"] == "us-east-1" for w in body["widgets"] if w["type"] == "metric")


def test_the_dashboard_shows_each_jobs_runs_failures_duration_and_dpu_hours():
    plan = plan_of("prod")
    body = dashboard_body(plan)
    silver = "lakehouse-prod-fhir-silver"
    runs = [m for m in metric_rows(body, "fhir: job runs") if silver in m]
    assert sorted(m[1] for m in runs) == ["glue.error.ALL", "glue.succeed.ALL"]
    assert runs[0][2:10] == ["JobName", silver, "JobRunId", "ALL", "Type", "count", "ObservabilityGroup", "error"]
    assert [m[1] for m in metric_rows(body, "fhir: job failures") if silver in m] == ["glue.error.ALL"]
    dpu = metric_rows(body, "fhir: DPU-hours")
    silver_index = next(i for i, m in enumerate(dpu) if silver in m)
    assert dpu[silver_index][1] == "glue.driver.aggregate.elapsedTime"
    # prod: 6 G.1X workers at most = 6 DPU (pipelines/fhir.yaml); elapsed milliseconds -> hours
    s = load_stack_config("prod").job_settings["fhir.silver"]
    assert (s.worker_type, s.number_of_workers) == ("G.1X", 6)
    assert dpu[silver_index + 1][0]["expression"].endswith("/ 3600000 * 6")
    assert any(isinstance(m[0], dict) and m[0]["expression"].endswith("/ 60000")
               for m in metric_rows(body, "fhir: longest run"))


def test_the_dashboard_shows_each_jobs_rows_from_the_custom_metrics():
    body = dashboard_body(plan_of("prod"))
    rows = metric_rows(body, "fhir.silver: rows")
    assert [m[1] for m in rows] == ["RowsInput", "RowsAccepted", "RowsQuarantined", "RowsWaiting"]
    assert all(m[0] == "GlueLakehouse/lakehouse-prod" and m[2:8] == ["Stack", "prod", "Pipeline", "fhir", "Job",
                                                                      "silver"] for m in rows)


def test_the_database_widgets_exist_only_with_the_database():
    with_db = dashboard_body(plan_of("prod"))
    assert sorted(m[1] for m in metric_rows(with_db, "RDS")) == [
        "CPUUtilization", "DatabaseConnections", "FreeStorageSpace"]
    assert all(m[2:4] == ["DBInstanceIdentifier", "lakehouse-prod-postgres"] for m in metric_rows(with_db, "RDS"))
    assert metric_rows(dashboard_body(plan_of("prod", db=False)), "RDS") == []


@pytest.mark.parametrize("breakage, expected", [
    (lambda b: b["widgets"][1]["properties"]["metrics"].append(["Glue"]), "[namespace, name, dimension"),
    (lambda b: b["widgets"][1]["properties"]["metrics"].append(["Glue", "m", "JobName"]), "[namespace, name"),
    (lambda b: b["widgets"][3]["properties"]["metrics"].append([{"expression": "zz / 2", "id": "q9"}]),
     "undefined ids ['zz']"),
    (lambda b: b["widgets"][1].update(x=20), "x/y/width/height"),
    (lambda b: b["widgets"][1]["properties"].pop("region"), "no region"),
    (lambda b: b["widgets"][0]["properties"].pop("markdown"), "text widget without markdown"),
])
def test_a_broken_body_is_named(breakage, expected):
    body = dashboard_body(plan_of("prod"))
    breakage(body)
    problems = dashboard_problems(body)
    assert any(expected in p for p in problems), problems
