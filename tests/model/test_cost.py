"""The monthly cost estimate: properties of its line items against the stack declarations, the price
table's checks, and the runs a month a schedule gives (lakehouse.model.schedule.fires_in_year)."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import math
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.model import cost
from lakehouse.model.config import load_stack_config, parse_stack_config, stack_file_values
from lakehouse.model.errors import ConfigError
from lakehouse.model.schedule import fires_in_year
from lakehouse.model.state_machine import CRAWLER_POLL_SECONDS

REGION = "us-east-1"
REPO = Path(__file__).resolve().parents[2]
STACKS = ("dev", "prod")


def with_settings(cfg, **changes):
    """The stack with every job's settings changed (dataclass fields of JobSettings)."""
    return dataclasses.replace(cfg, job_settings={k: dataclasses.replace(s, **changes)
                                                  for k, s in cfg.job_settings.items()})


def with_schedule(cfg, schedule):
    return dataclasses.replace(cfg, workflow=dataclasses.replace(cfg.workflow, start_mode="SCHEDULED",
                                                                 schedule=schedule))


def lines_of(est, service):
    return [line for line in est.lines if line.service == service]


def glue_usd(est):
    return sum(line.monthly_usd for line in lines_of(est, "Glue"))


def stack_with(stack, **overrides):
    values = {k: v for k, v in stack_file_values(stack).items()}
    values.update({f"glue-lakehouse:{k}": v for k, v in overrides.items()})
    return parse_stack_config(stack, values)


# --- the Glue projection: the prod settings meet the cost target (issue 21) -------------------------

FHIR_TARGET_DPU_HOURS = 0.5  # one daily prod run of the FHIR pipeline
SIZES = st.integers(cost.MIN_WORKERS, 298)
WORKER_TYPES = st.sampled_from(sorted(cost.DPU_PER_WORKER))
WORK = st.floats(0, 1e6, allow_nan=False)


def fhir_run(cfg):
    return cost.project_run(cfg, ["fhir"])


def test_the_prod_daily_fhir_run_projects_to_at_most_the_target():
    cfg = load_stack_config("prod")
    run = fhir_run(cfg)
    fhir = next(p for p in cfg.pipelines if p.name == "fhir")
    assert [j.key for j in run.jobs] == [j.key for j in fhir.topological_order()]  # maintain included
    assert {j.key for j in run.jobs if j.measured} == set(cost.MEASURED_WORK)
    assert run.dpu_hours <= FHIR_TARGET_DPU_HOURS
    # computed from the model, job by job, at the declared settings
    for j in run.jobs:
        s = cfg.job_settings[j.key]
        work = cost.MEASURED_WORK.get(j.key, 0.0) * cost.MEASURED_LOCAL_CORES
        assert (j.worker_type, j.workers, j.execution_class) == (s.worker_type, s.number_of_workers,
                                                                 s.execution_class)
        assert j.dpu_hours == cost.job_run_dpu_hours(s.worker_type, s.number_of_workers, work)[1]


def test_the_previous_prod_settings_miss_the_target():
    """The check can fail: the settings before issue 21 (10 x G.2X, gold 4 x G.2X, STANDARD) project
    to 1.19 DPU-h with the maintenance job (0.84 for bronze, silver and gold, docs/benchmarks.md)."""
    cfg = load_stack_config("prod")
    old = dataclasses.replace(cfg, job_settings={k: dataclasses.replace(
        s, worker_type="G.2X", number_of_workers=4 if k == "fhir.gold" else 10, execution_class="STANDARD")
        for k, s in cfg.job_settings.items()})
    run = fhir_run(old)
    assert round(sum(j.dpu_hours for j in run.jobs if j.key != "fhir.maintain"), 2) == 0.84
    assert round(run.dpu_hours, 2) == 1.19 > FHIR_TARGET_DPU_HOURS


def test_the_estimates_glue_lines_are_the_projection_times_the_runs():
    """One projection: `python -m lakehouse.ops cost` prices each job with project_run's figure."""
    for stack in STACKS:
        cfg = load_stack_config(stack)
        est = cost.estimate(cfg, REGION)
        run = cost.project_run(cfg)
        glue = lines_of(est, "Glue")
        assert [line.item.split()[0] for line in glue] == [j.key for j in run.jobs]
        for line, j in zip(glue, run.jobs, strict=True):
            assert line.quantity == pytest.approx(j.dpu_hours * est.runs_per_month)
            assert line.monthly_usd == pytest.approx(j.usd * est.runs_per_month)


def test_the_benchmark_script_reports_the_same_projection():
    spec = importlib.util.spec_from_file_location("bench_script", REPO / "bench" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    seconds = {k.split(".", 1)[1]: v for k, v in cost.MEASURED_WORK.items()}
    out = bench.cost_projection(seconds, cost.MEASURED_LOCAL_CORES)
    run = fhir_run(load_stack_config("prod"))
    assert out["dpu_hours"] == round(run.dpu_hours, 3) and out["usd"] == round(run.usd, 3)
    assert {k: v["dpu_hours_at_max_workers"] for k, v in out["jobs"].items()} == {
        j.key.split(".", 1)[1]: round(j.dpu_hours, 3) for j in run.jobs}
    assert out["assumptions"][:len(cost.GLUE_PROJECTION_ASSUMPTIONS)] == list(cost.GLUE_PROJECTION_ASSUMPTIONS)


@pytest.mark.parametrize("key", [f"{p.name}.{j.name}" for p in load_stack_config("prod").pipelines
                                 for j in p.jobs])
def test_every_prod_job_has_headroom_for_growth_and_room_to_scale(key):
    """At GROWTH x its work, a prod job finishes within HEADROOM_MINUTES even if auto scaling never adds
    a worker, far inside its timeout; auto scaling is on with a maximum above the least, on FLEX (a daily
    batch: docs/benchmarks.md says why)."""
    (j,) = [j for j in cost.project_run(load_stack_config("prod")).jobs if j.key == key]
    grown = j.at_growth(cost.GROWTH)
    assert grown.slowest_run_seconds <= cost.HEADROOM_MINUTES * 60 <= j.timeout_minutes * 60 / 4
    assert j.auto_scaling and j.workers > cost.MIN_WORKERS
    assert j.execution_class == "FLEX" and j.worker_type in ("G.1X", "G.2X")  # FLEX's worker types


def test_a_pipeline_the_stack_does_not_deploy_is_refused_by_name():
    with pytest.raises(ConfigError, match=r"pipelines: got \['nope'\]; allowed: the stack's pipelines"):
        cost.project_run(load_stack_config("prod"), ["fhir", "nope"])
    with pytest.raises(ValueError, match="workers: got 1; allowed: at least 2"):
        cost.job_run_seconds("G.1X", 1, 10.0)


@settings(max_examples=200, deadline=None)
@given(worker_type=WORKER_TYPES, workers=SIZES, work=WORK)
def test_the_projection_never_bills_below_the_minimum_or_the_work(worker_type, workers, work):
    dpu = cost.DPU_PER_WORKER[worker_type] * workers
    billed, dpu_h = cost.job_run_dpu_hours(worker_type, workers, work)
    run = cost.job_run_seconds(worker_type, workers, work)
    assert billed >= cost.GLUE_MIN_BILLED_SECONDS and run >= cost.GLUE_STARTUP_SECONDS
    assert dpu_h >= dpu * cost.GLUE_MIN_BILLED_SECONDS / 3600 * (1 - 1e-12)  # every worker's 1-minute minimum
    # and never below the start-up of every worker plus the work itself at the assumed efficiency
    floor = (dpu * cost.GLUE_STARTUP_SECONDS + work / (cost.VCPU_PER_DPU * cost.GLUE_PARALLEL_EFFICIENCY)) / 3600
    assert dpu_h >= floor * (1 - 1e-12)


@settings(max_examples=200, deadline=None)
@given(worker_type=WORKER_TYPES, workers=SIZES, work=WORK)
def test_more_workers_never_lengthen_a_run_nor_shorten_it_below_the_start_up(worker_type, workers, work):
    fewer, more = (cost.job_run_seconds(worker_type, n, work) for n in (workers, workers + 1))
    assert cost.GLUE_STARTUP_SECONDS <= more <= fewer


@settings(max_examples=200, deadline=None)
@given(worker_type=WORKER_TYPES, workers=SIZES, share=st.floats(0, 1))
def test_while_start_up_dominates_another_worker_only_adds_dpu_hours(worker_type, workers, share):
    """Adding a worker adds its start-up and saves work/(n(n-1)) of executor time: while the work is under
    n(n-1) x the start-up of one worker's executor cores, the smaller setting is the cheaper. The measured
    FHIR work (at most 129 core-s) is under it at every size: why the prod maxima stay small."""
    d = cost.DPU_PER_WORKER[worker_type]
    bound = d * cost.VCPU_PER_DPU * cost.GLUE_PARALLEL_EFFICIENCY * cost.GLUE_STARTUP_SECONDS * workers * (workers - 1)
    work = share * bound
    assert (cost.job_run_dpu_hours(worker_type, workers + 1, work)[1]
            >= cost.job_run_dpu_hours(worker_type, workers, work)[1] * (1 - 1e-12))
    assert max(cost.MEASURED_WORK.values()) * cost.MEASURED_LOCAL_CORES <= (
        cost.VCPU_PER_DPU * cost.GLUE_PARALLEL_EFFICIENCY * cost.GLUE_STARTUP_SECONDS * 2)


@settings(max_examples=100, deadline=None)
@given(worker_type=WORKER_TYPES, workers=SIZES, work=WORK, factor=st.floats(0, 100))
def test_a_runs_time_past_the_start_up_grows_with_the_work_in_proportion(worker_type, workers, work, factor):
    j = cost.project_job("p.j", worker_type, workers, "STANDARD", True, 60, work, True, 0.44)
    grown = j.at_growth(factor)
    assert grown.run_seconds - cost.GLUE_STARTUP_SECONDS == pytest.approx(
        factor * (j.run_seconds - cost.GLUE_STARTUP_SECONDS), rel=1e-9, abs=1e-9)
    assert grown.slowest_run_seconds >= grown.run_seconds  # the least workers: the longest run


def test_every_deployed_job_has_a_glue_line_at_its_settings():
    for stack in STACKS:
        cfg = load_stack_config(stack)
        est = cost.estimate(cfg, REGION)
        glue = lines_of(est, "Glue")
        assert [line.item.split()[0] for line in glue] == [
            j.key for p in cfg.pipelines for j in p.topological_order()]
        for line in glue:
            s = cfg.job_settings[line.item.split()[0]]
            assert f"{s.number_of_workers} x {s.worker_type} {s.execution_class}" in line.item
            key = "glue_dpu_hour_flex" if s.execution_class == "FLEX" else "glue_dpu_hour_standard"
            assert line.unit_price == cost.PRICE_TABLES[REGION][key]


# --- properties ------------------------------------------------------------------------------------

@pytest.mark.parametrize("instance_class", sorted(cost.PRICE_TABLES[REGION]["rds_instance_hour"]))
def test_multi_az_doubles_the_rds_instance_line(instance_class):
    cfg = load_stack_config("prod")
    single, multi = (cost.estimate(dataclasses.replace(cfg, database=dataclasses.replace(
        cfg.database, instance_class=instance_class, multi_az=m)), REGION) for m in (False, True))
    (one,) = [line for line in single.lines if line.unit == "instance-hour"]
    (two,) = [line for line in multi.lines if line.unit == "instance-hour"]
    assert instance_class in one.item and "single-AZ" in one.item and "Multi-AZ" in two.item
    assert two.monthly_usd == pytest.approx(2 * one.monthly_usd)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("worker_type", ["G.1X", "G.2X"])  # the worker types FLEX takes
def test_flex_is_cheaper_than_standard_for_the_same_dpu_hours(stack, worker_type):
    cfg = with_settings(load_stack_config(stack), worker_type=worker_type)
    flex = cost.estimate(with_settings(cfg, execution_class="FLEX"), REGION)
    standard = cost.estimate(with_settings(cfg, execution_class="STANDARD"), REGION)
    pairs = list(zip(lines_of(flex, "Glue"), lines_of(standard, "Glue"), strict=True))
    assert pairs
    for f, s in pairs:
        assert f.quantity == pytest.approx(s.quantity) and f.unit == s.unit == "DPU-hour"
        assert f.monthly_usd < s.monthly_usd
    assert flex.total < standard.total


@settings(max_examples=25, deadline=None)
@given(hours=st.sets(st.integers(0, 23), min_size=1, max_size=24))
def test_more_scheduled_runs_scale_glue_linearly(hours):
    cfg = load_stack_config("prod")
    once = cost.estimate(with_schedule(cfg, "cron(0 2 * * ? *)"), REGION)
    many = cost.estimate(with_schedule(cfg, f"cron(0 {','.join(map(str, sorted(hours)))} * * ? *)"), REGION)
    assert many.runs_per_month == pytest.approx(len(hours) * once.runs_per_month)
    assert glue_usd(many) == pytest.approx(len(hours) * glue_usd(once))
    for a, b in zip(lines_of(once, "Glue"), lines_of(many, "Glue"), strict=True):
        assert b.quantity == pytest.approx(len(hours) * a.quantity)
    # what does not run with the workflow does not move
    fixed = ("RDS", "VPC endpoints", "Secrets Manager")
    assert [line.monthly_usd for line in once.lines if line.service in fixed] == pytest.approx(
        [line.monthly_usd for line in many.lines if line.service in fixed])


def test_unscheduled_stacks_take_the_named_runs_assumption():
    cfg = load_stack_config("dev")
    assert cfg.workflow.start_mode == "ON_DEMAND"
    base = cost.estimate(cfg, REGION)
    doubled = cost.estimate(cfg, REGION, workload=cost.Workload(
        unscheduled_runs_per_month=2 * cost.DEFAULT_WORKLOAD.unscheduled_runs_per_month))
    assert base.runs_per_month == cost.DEFAULT_WORKLOAD.unscheduled_runs_per_month
    assert glue_usd(doubled) == pytest.approx(2 * glue_usd(base))


@pytest.mark.parametrize("stack", STACKS)
def test_a_stack_without_a_database_has_no_rds_or_endpoint_lines(stack):
    with_db = cost.estimate(load_stack_config(stack), REGION)
    assert {"RDS", "VPC endpoints", "Secrets Manager"} <= {line.service for line in with_db.lines}
    cfg = stack_with(stack, pipelines=["fhir"], databaseMode="none")  # no job needs the connection
    assert not cfg.needs_connection
    services = {line.service for line in cost.estimate(cfg, REGION).lines}
    assert not services & {"RDS", "VPC endpoints", "Secrets Manager"}
    assert not any("flow logs" in line.item for line in cost.estimate(cfg, REGION).lines)


def test_an_existing_database_in_an_existing_vpc_has_no_rds_or_endpoint_lines():
    cfg = stack_with("prod", databaseMode="existing", createNetwork=False, vpcId="vpc-0123456789abcdef0",
                     subnetIds=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
                     existingDbEndpoint="db.example.internal:5432",
                     existingDbSecretArn="arn:aws:secretsmanager:us-east-1:123456789012:secret:pg-AbCdEf")
    assert cfg.needs_connection
    services = {line.service for line in cost.estimate(cfg, REGION).lines}
    assert "Glue" in services and not services & {"RDS", "VPC endpoints", "Secrets Manager"}


@settings(max_examples=25, deadline=None)
@given(stack=st.sampled_from(STACKS),
       storage=st.floats(0, 1e5), logs=st.floats(0, 1e3), runs=st.floats(0, 1e3), queries=st.integers(0, 10**6))
def test_total_is_the_sum_of_the_lines(stack, storage, logs, runs, queries):
    workload = cost.Workload(lake_storage_gb=storage, glue_log_mb_per_job_run=logs,
                             unscheduled_runs_per_month=runs, athena_queries_per_month=queries)
    est = cost.estimate(load_stack_config(stack), REGION, workload=workload)
    assert est.total == pytest.approx(sum(line.quantity * line.unit_price for line in est.lines))
    assert est.as_dict()["total_usd"] == pytest.approx(sum(line["monthly_usd"] for line in est.as_dict()["lines"]),
                                                       abs=1e-3)
    assert all(line.monthly_usd >= 0 and line.assumption for line in est.lines)


def test_log_storage_follows_the_retention():
    cfg = load_stack_config("prod")
    short = cost.estimate(dataclasses.replace(cfg, log_retention_days=30), REGION)
    long = cost.estimate(dataclasses.replace(cfg, log_retention_days=365), REGION)
    stored = [(a, b) for a, b in zip(short.lines, long.lines, strict=True) if a.item.endswith("logs stored")]
    assert len(stored) == 2
    for a, b in stored:
        assert b.quantity == pytest.approx(a.quantity * 365 / 30)


# --- what the estimate counts is what the components create ----------------------------------------

def test_interface_endpoints_and_azs_are_the_components():
    from components.glue_rds_connection import interface_endpoint_services, private_subnet_cidrs
    from lakehouse.model.names import AwsContext

    assert tuple(interface_endpoint_services(AwsContext("123456789012", REGION), "c")) == \
        cost.INTERFACE_ENDPOINT_SERVICES
    cfg = load_stack_config("prod")
    assert len(private_subnet_cidrs(cfg.network.vpc_cidr)) == cost.CREATED_NETWORK_AZS
    (line,) = [line for line in cost.estimate(cfg, REGION).lines if line.unit == "endpoint-AZ-hour"]
    assert line.quantity == len(cost.INTERFACE_ENDPOINT_SERVICES) * cost.CREATED_NETWORK_AZS * cost.HOURS_PER_MONTH


# --- crawlers, state machines, CloudWatch ----------------------------------------------------------

def pipeline_lines(est, pipeline):
    """The lines a pipeline brings: its jobs (`<pipeline>.<job> ...`), its crawler and its state machine."""
    return [line for line in est.lines if line.item.startswith((f"{pipeline}.", f"{pipeline} "))]


def keys(lines):
    return [(line.service, line.item) for line in lines]


def as_glue_workflow(cfg, name):
    """The stack with pipeline `name` orchestrated by a Glue workflow and without a crawler: same jobs."""
    return dataclasses.replace(cfg, pipelines=tuple(
        dataclasses.replace(p, orchestrator="glue_workflow", crawler=None) if p.name == name else p
        for p in cfg.pipelines))


@pytest.mark.parametrize("stack", STACKS)
def test_a_crawled_state_machine_pipeline_costs_exactly_its_crawler_and_state_machine_lines_more(stack):
    cfg = load_stack_config(stack)
    orders = next(p for p in cfg.pipelines if p.name == "orders")
    assert orders.orchestrator == "step_functions" and orders.crawler is not None
    full, plain = cost.estimate(cfg, REGION), cost.estimate(as_glue_workflow(cfg, "orders"), REGION)
    extra = [("Glue crawlers", "orders crawler"), ("Step Functions", "orders state machine (standard)")]
    assert [k for k in keys(full.lines) if k not in keys(plain.lines)] == extra
    assert keys(plain.lines) == [k for k in keys(full.lines) if k not in extra]
    by_key = dict(zip(keys(full.lines), full.lines))
    crawler, machine = (by_key[k] for k in extra)
    assert full.total - plain.total == pytest.approx(crawler.monthly_usd + machine.monthly_usd)
    for a, b in zip([line for line in full.lines if (line.service, line.item) not in extra], plain.lines,
                    strict=True):
        assert a == b  # nothing else moves

    prices, w, runs = cost.PRICE_TABLES[REGION], cost.DEFAULT_WORKLOAD, full.runs_per_month
    billed_s = max(prices["glue_crawler_min_billed_seconds"], w.crawl_minutes * 60)
    assert crawler.quantity == pytest.approx(w.crawler_dpus * billed_s / 3600 * runs)
    assert crawler.unit_price == prices["glue_crawler_dpu_hour"]
    # extract, transform, load, maintain: one Task each; the crawler's start, its 3-state poll loop per
    # poll, the two Choices after it; Succeed
    polls = math.ceil(w.crawl_minutes * 60 / CRAWLER_POLL_SECONDS)
    assert [j.name for j in orders.topological_order()] == ["extract", "transform", "load", "maintain"]
    assert machine.quantity == pytest.approx((4 + 1 + 3 * polls + 2 + 1) * runs / 1000)
    assert machine.unit_price == prices["sfn_standard_per_1000_transitions"]


@pytest.mark.parametrize("name", ["fhir", "climate", "orders"])
def test_removing_a_pipeline_removes_exactly_its_lines(name):
    cfg = load_stack_config("prod")
    names = [p.name for p in cfg.pipelines]
    assert name in names
    full = cost.estimate(cfg, REGION)
    rest = stack_with("prod", pipelines=[n for n in names if n != name])
    without = cost.estimate(rest, REGION)
    gone = [k for k in keys(full.lines) if k not in keys(without.lines)]
    # the database side goes with the last pipeline whose jobs need the connection (climate's)
    database = [k for k in keys(full.lines) if k[0] in ("RDS", "Secrets Manager", "VPC endpoints")
                or "flow logs" in k[1]]
    assert database and cfg.needs_connection
    assert gone == keys(pipeline_lines(full, name)) + ([] if rest.needs_connection else database)
    assert keys(pipeline_lines(full, name))
    assert not pipeline_lines(without, name)
    assert [k for k in keys(without.lines) if k not in keys(full.lines)] == []
    for other in (n for n in names if n != name):  # the others' own lines are unchanged
        assert pipeline_lines(without, other) == pipeline_lines(full, other)


@settings(max_examples=25, deadline=None)
@given(minutes=st.floats(0.1, 120), dpus=st.floats(0.5, 20), runs=st.floats(1, 800))
def test_crawl_and_poll_counts_follow_the_crawl_minutes_with_the_billing_minimum(minutes, dpus, runs):
    cfg = load_stack_config("dev")
    w = cost.Workload(crawl_minutes=minutes, crawler_dpus=dpus, unscheduled_runs_per_month=runs)
    base = cost.Workload(crawl_minutes=1, unscheduled_runs_per_month=runs)
    est, one = cost.estimate(cfg, REGION, workload=w), cost.estimate(cfg, REGION, workload=base)
    (crawler,) = lines_of(est, "Glue crawlers")
    assert crawler.quantity == pytest.approx(dpus * max(600, minutes * 60) / 3600 * runs)
    (machine,), (single,) = lines_of(est, "Step Functions"), lines_of(one, "Step Functions")
    polls = math.ceil(minutes * 60 / CRAWLER_POLL_SECONDS)
    assert machine.quantity - single.quantity == pytest.approx(3 * (polls - 1) * runs / 1000)


@pytest.mark.parametrize("name", ["fhir", "climate"])
def test_state_machine_transitions_are_one_per_state_of_its_waves(name):
    """A pipeline without a crawler as a state machine: a Task per single-job wave, a Parallel state plus
    one Task per branch for a fan-out, then Succeed."""
    cfg = load_stack_config("prod")
    spec = next(p for p in cfg.pipelines if p.name == name)
    as_machine = dataclasses.replace(cfg, pipelines=tuple(
        dataclasses.replace(p, orchestrator="step_functions") if p.name == name else p for p in cfg.pipelines))
    est = cost.estimate(as_machine, REGION)
    (machine,) = [line for line in lines_of(est, "Step Functions") if line.item.startswith(f"{name} ")]
    expected = sum(1 if len(w) == 1 else 1 + len(w) for w in spec.waves()) + 1
    assert machine.quantity == pytest.approx(expected * est.runs_per_month / 1000)
    assert not lines_of(est, "Glue crawlers") or all(not line.item.startswith(name) for line in
                                                      lines_of(est, "Glue crawlers"))


@pytest.mark.parametrize("stack", STACKS)
def test_cloudwatch_lines_are_the_monitoring_plans_alarms_dashboard_and_published_metrics(stack):
    cfg = load_stack_config(stack)
    est = cost.estimate(cfg, REGION)
    lines = {line.item: line for line in lines_of(est, "CloudWatch")}
    assert set(lines) == {"alarms", "dashboard", "custom metrics"}
    jobs = [j for p in cfg.pipelines for j in p.topological_order()]
    counting = [j for j in jobs if not j.is_maintenance]
    scheduled = cfg.workflow.start_mode == "SCHEDULED"
    database = cfg.needs_connection and cfg.database.mode == "create"
    # a quarantine alarm reads 2 metrics (counting jobs only); not-started (scheduled stacks) and RDS 1 each
    assert lines["alarms"].quantity == 2 * len(counting) + (len(cfg.pipelines) if scheduled else 0) + (
        2 if database else 0)
    assert lines["dashboard"].quantity == 1
    # RunStarted, RowsInput/Accepted/Quarantined, and RowsWaiting but for the maintenance jobs
    metrics = 5 * len(counting) + 4 * (len(jobs) - len(counting))
    assert lines["custom metrics"].quantity == pytest.approx(metrics * est.runs_per_month / cost.HOURS_PER_MONTH)
    prices = cost.PRICE_TABLES[REGION]
    assert [lines[k].unit_price for k in ("alarms", "dashboard", "custom metrics")] == [
        prices["cloudwatch_alarm_metric_month"], prices["cloudwatch_dashboard_month"],
        prices["cloudwatch_custom_metric_month"]]


# --- bad input -------------------------------------------------------------------------------------

def test_unknown_region_names_it_and_the_known_regions():
    with pytest.raises(ConfigError) as err:
        cost.estimate(load_stack_config("prod"), "eu-west-3")
    (problem,) = err.value.problems
    assert "aws:region: got 'eu-west-3'" in problem and "['us-east-1']" in problem


def test_an_rds_class_missing_from_the_price_table_is_named():
    cfg = load_stack_config("prod")
    cfg = dataclasses.replace(cfg, database=dataclasses.replace(cfg.database, instance_class="db.x2g.16xlarge"))
    with pytest.raises(ConfigError) as err:
        cost.estimate(cfg, REGION)
    assert "dbInstanceClass: got 'db.x2g.16xlarge'" in str(err.value) and "db.t4g.medium" in str(err.value)


def test_the_builtin_price_table_is_valid_and_prices_every_allowed_flex_and_the_stacks_classes():
    assert cost.price_table_problems(cost.PRICE_TABLES).items == []
    classes = cost.PRICE_TABLES[REGION]["rds_instance_hour"]
    for stack in STACKS:
        assert load_stack_config(stack).database.instance_class in classes
    assert cost.PRICE_TABLES[REGION]["glue_dpu_hour_flex"] < cost.PRICE_TABLES[REGION]["glue_dpu_hour_standard"]


def broken(mutate):
    tables = copy.deepcopy(cost.PRICE_TABLES)
    mutate(tables[REGION])
    with pytest.raises(ConfigError) as err:
        cost.estimate(load_stack_config("prod"), REGION, tables=tables)
    return err.value.problems


def test_a_bad_price_table_fails_naming_every_bad_key():
    def mutate(t):
        del t["glue_dpu_hour_flex"]
        t["s3_standard_gb_month"] = -0.023
        t["kms_key_month"] = "1 dollar"
        t["rds_instance_hour"]["db.t4g.medium"] = {"single_az": 0.065}
        t["glue_dpu_hour_turbo"] = 1.0

    problems = broken(mutate)
    assert len(problems) == 5
    joined = "\n".join(problems)
    for text in ("us-east-1.glue_dpu_hour_flex: got None", "us-east-1.s3_standard_gb_month: got -0.023",
                 "us-east-1.kms_key_month: got '1 dollar'", "rds_instance_hour.db.t4g.medium.multi_az: got None",
                 "us-east-1.glue_dpu_hour_turbo: got 1.0; allowed: one of the price keys"):
        assert text in joined


def test_a_price_table_that_is_no_mapping_is_refused():
    assert cost.price_table_problems([1, 2]).items == [
        "price table: got [1, 2]; allowed: a mapping of region (e.g. us-east-1) to its prices"]
    assert "source" in cost.price_table_problems({REGION: {**cost.PRICE_TABLES[REGION], "source": ""}}).items[0]


# --- runs a month from a schedule ------------------------------------------------------------------

def days_of(year):
    d = date(year, 1, 1)
    while d.year == year:
        yield d
        d += timedelta(days=1)


@pytest.mark.parametrize("expression, expected", [
    ("cron(0 2 * * ? *)", lambda y: sum(1 for _ in days_of(y))),
    ("cron(0 2,14 * * ? *)", lambda y: 2 * sum(1 for _ in days_of(y))),
    ("cron(0/15 * * * ? *)", lambda y: 96 * sum(1 for _ in days_of(y))),
    ("cron(0 2 ? * MON-FRI *)", lambda y: sum(1 for d in days_of(y) if d.weekday() < 5)),
    ("cron(30 6 ? * 1 *)", lambda y: sum(1 for d in days_of(y) if d.weekday() == 6)),  # 1 = SUN
    ("cron(0 2 1 JAN-MAR ? *)", lambda y: 3),
    ("cron(0 2 L * ? *)", lambda y: 12),
    ("cron(0 2 ? * 6#3 *)", lambda y: 12),  # third Friday
    ("cron(0 2 ? * 2L *)", lambda y: 12),  # last Monday
    ("cron(0 2 LW * ? *)", lambda y: 12),
    ("cron(0 2 31 * ? *)", lambda y: 7),  # months with a 31st
    ("cron(0 2 * * ? 2026)", lambda y: 0),  # the year is not the one counted
])
@pytest.mark.parametrize("year", [2027, 2028])
def test_fires_in_year(expression, expected, year):
    assert fires_in_year(expression, year) == expected(year)


def test_fires_in_year_refuses_a_broken_expression():
    with pytest.raises(ValueError, match="hours: 24 is not 0-23"):
        fires_in_year("cron(0 24 * * ? *)", 2027)
