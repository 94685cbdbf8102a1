"""The monthly cost estimate: properties of its line items against the stack declarations, the price
table's checks, and the runs a month a schedule gives (lakehouse.model.schedule.fires_in_year)."""

from __future__ import annotations

import copy
import dataclasses
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.model import cost
from lakehouse.model.config import load_stack_config, parse_stack_config, stack_file_values
from lakehouse.model.errors import ConfigError
from lakehouse.model.schedule import fires_in_year

REGION = "us-east-1"
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


# --- the measured workload reproduces docs/benchmarks.md ------------------------------------------

def test_prod_fhir_projection_is_the_benchmark_docs_table():
    """docs/benchmarks.md, "Glue cost projection": 0.36 / 0.36 / 0.14 DPU-h a run at the prod settings,
    0.86 in all; 0.20 on 2 x G.1X (the dev settings)."""
    per_run = {}
    for stack in STACKS:
        cfg = load_stack_config(stack)
        per_run[stack] = {key: cost.job_run_dpu_hours(cfg.job_settings[key].worker_type,
                                                      cfg.job_settings[key].number_of_workers,
                                                      work * cost.MEASURED_LOCAL_CORES)[1]
                          for key, work in cost.MEASURED_WORK.items()}
    assert {k: round(v, 2) for k, v in per_run["prod"].items()} == {
        "fhir.bronze": 0.36, "fhir.silver": 0.36, "fhir.gold": 0.14}
    assert round(sum(per_run["prod"].values()), 2) == 0.86
    assert round(sum(per_run["dev"].values()), 2) == 0.20


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
