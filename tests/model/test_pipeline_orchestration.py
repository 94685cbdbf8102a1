"""The pipeline declaration's `orchestrator` and `crawler` keys (parse_pipeline)."""

from __future__ import annotations

import pytest

import lakehouse.model.pipelines as pipelines_mod
from lakehouse.model.errors import ConfigError
from lakehouse.model.pipelines import PIPELINE_KEYS, CrawlerSpec, parse_pipeline

CRAWLER = {"prefixes": ["orders/orders/", "orders/customers/"], "table_prefix": "orders_raw_"}


@pytest.fixture(autouse=True)
def scripts_dir(tmp_path, monkeypatch):
    (tmp_path / "a.py").write_text("")
    monkeypatch.setattr(pipelines_mod, "GLUE_SCRIPTS_DIR", tmp_path)
    return tmp_path


def job(name, deps=(), **extra):
    return {"name": name, "script": "a.py", "depends_on": list(deps),
            "writes": [{"zone": "bronze", "tables": [f"{name}_t"]}], **extra}


def extract(**extra):
    return job("extract", reads=[{"zone": "raw", "tables": ["orders_raw_orders", "orders_raw_customers"],
                                  "prefixes": ["orders/"]}], **extra)


def declaration(**top):
    return {"name": "p", "jobs": [extract(), job("load", ["extract"])], **top}


def problems(data) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_pipeline(data, "p.yaml")
    return err.value.problems


def test_defaults_are_a_glue_workflow_without_crawler():
    spec = parse_pipeline({"name": "p", "jobs": [job("a")]}, "p.yaml")
    assert (spec.orchestrator, spec.crawler) == ("glue_workflow", None)


def test_the_agreed_orders_shape_parses():
    spec = parse_pipeline(declaration(orchestrator="step_functions", crawler=CRAWLER), "p.yaml")
    assert spec.orchestrator == "step_functions"
    assert spec.crawler == CrawlerSpec(prefixes=("orders/orders/", "orders/customers/"), table_prefix="orders_raw_")
    assert spec.crawler.tables() == ("orders_raw_orders", "orders_raw_customers")  # prefix order
    assert spec.crawler.prefix_of("orders_raw_customers") == "orders/customers/"
    assert spec.job("extract").reads[0].tables == ("orders_raw_orders", "orders_raw_customers")


def test_table_name_is_the_prefix_last_folder_at_its_level():
    crawler = CrawlerSpec(("a/b/c/", "a/b/d/"), "x_")
    assert crawler.tables() == ("x_c", "x_d")
    assert crawler.table_level() == 4  # bucket 1, a 2, b 3, c 4


@pytest.mark.parametrize("top, problem", [
    ({"orchestrator": "airflow"}, "p.yaml: orchestrator: got 'airflow'; allowed: glue_workflow | step_functions"),
    ({"schedule": "daily"}, f"p.yaml: schedule: got 'daily'; allowed: one of the keys {sorted(PIPELINE_KEYS)}"),
    ({"crawler": ["orders/"]}, "p.yaml: crawler: got ['orders/']; allowed: a mapping with prefixes and table_prefix"),
    ({"crawler": {**CRAWLER, "schedule": "x"}},
     "p.yaml: crawler.schedule: got 'x'; allowed: one of the keys ['prefixes', 'table_prefix']"),
    ({"crawler": {**CRAWLER, "table_prefix": "Orders-"}},
     "p.yaml: crawler.table_prefix: got 'Orders-'; allowed: lower-case letters, digits and _ (max 40), "
     "starting with a letter, e.g. orders_raw_"),
    ({"crawler": {**CRAWLER, "prefixes": []}},
     "p.yaml: crawler.prefixes: got []; allowed: a non-empty list of raw-zone prefixes"),
    ({"crawler": {**CRAWLER, "prefixes": ["orders/orders"]}},
     "p.yaml: crawler.prefixes[0]: got 'orders/orders'; allowed: raw-zone object prefixes ending in '/' "
     "(letters, digits, - _ . /)"),
    ({"crawler": {**CRAWLER, "prefixes": ["../bronze/"]}},
     "p.yaml: crawler.prefixes[0]: got '../bronze/'; allowed: a prefix inside the raw bucket: no leading '/', "
     "no empty, '.' or '..' folder"),
    ({"crawler": {**CRAWLER, "prefixes": ["/orders/"]}},
     "p.yaml: crawler.prefixes[0]: got '/orders/'; allowed: a prefix inside the raw bucket: no leading '/', "
     "no empty, '.' or '..' folder"),
    ({"crawler": {**CRAWLER, "prefixes": ["orders/", "orders/orders/"]}},
     "p.yaml: crawler.prefixes[1]: got 'orders/orders/'; allowed: prefixes that do not contain one another "
     "(overlaps 'orders/': its files would be cataloged twice)"),
    ({"crawler": {**CRAWLER, "prefixes": ["a/orders/", "b/orders/"]}},
     "p.yaml: crawler.prefixes: got 'b/orders/'; allowed: prefixes with distinct last folders "
     "(table 'orders_raw_orders' is also 'a/orders/''s)"),
    ({"crawler": {**CRAWLER, "prefixes": ["orders/", "customers/all/"]}},
     "p.yaml: crawler.prefixes: got ['orders/', 'customers/all/']; allowed: prefixes of one folder depth (got "
     "depths [1, 2]): the crawler makes its tables at one folder level of the raw bucket"),
    ({"crawler": {**CRAWLER, "prefixes": ["orders/order-lines/"]}},
     "p.yaml: crawler.prefixes: got 'orders/order-lines/'; allowed: prefixes whose last folder makes, after "
     "table_prefix, a table name matching ^[a-z][a-z0-9_]{0,79}$ (got 'orders_raw_order-lines')"),
])
def test_bad_orchestration_keys_name_key_value_and_allowed(top, problem):
    assert problem in problems(declaration(**top))


def test_raw_tables_without_a_crawler_are_refused():
    assert problems(declaration()) == [
        "p.yaml: jobs.extract.reads[0].tables: got ['orders_raw_orders', 'orders_raw_customers']; "
        "allowed: none: the raw zone holds files, declare prefixes"]


def test_a_job_reads_only_the_crawler_tables():
    data = declaration(crawler={**CRAWLER, "prefixes": ["orders/orders/"]})
    assert problems(data) == [
        "p.yaml: jobs.extract.reads.tables: got 'orders_raw_customers'; "
        "allowed: tables of the pipeline's crawler ['orders_raw_orders']"]


def test_a_job_reading_a_crawler_table_declares_a_prefix_covering_its_data():
    data = {"name": "p", "crawler": CRAWLER, "jobs": [
        job("extract", reads=[{"zone": "raw", "tables": ["orders_raw_orders"], "prefixes": ["orders/customers/"]}])]}
    assert problems(data) == [
        "p.yaml: jobs.extract.reads.prefixes: got ['orders/customers/']; allowed: a raw prefix covering "
        "'orders/orders/', where the crawler table 'orders_raw_orders' keeps its data"]


def test_crawler_tables_cannot_be_written():
    data = declaration(crawler=CRAWLER)
    data["jobs"][1]["writes"] = [{"zone": "raw", "tables": ["orders_raw_orders"]}]
    assert problems(data) == ["p.yaml: jobs.load.writes[0].tables: got ['orders_raw_orders']; "
                              "allowed: none: the raw zone holds files, declare prefixes"]


# --- what a job reading a crawler's tables is granted and given ---------------------------------

def crawled_job():
    spec = parse_pipeline(declaration(crawler=CRAWLER), "p.yaml")
    return spec.job("extract")


def test_a_job_reading_crawler_tables_may_read_them_and_their_partitions_in_the_raw_database_only():
    from lakehouse.model.iam import JobGrant, job_role_policy
    from lakehouse.model.names import AwsContext

    ctx = AwsContext("123456789012", "us-east-1")
    j = crawled_job()
    grant = JobGrant(role_name="r", reads=j.reads, writes=j.writes,
                     buckets={z: f"b-{z}" for z in ("raw", "bronze", "silver", "gold", "scripts", "temp", "logs")},
                     databases={"raw": "db_raw", "bronze": "db_bronze", "silver": "db_silver", "gold": "db_gold"},
                     script_key="s.py", library_key="l.zip", temp_prefix="t/", spark_ui_prefix=None,
                     log_groups=("/aws-glue/jobs/r",), key_alias="alias/lake")
    statements = {s["Sid"]: s for s in job_role_policy(ctx, grant)["Statement"]}
    crawled = statements["ReadCrawledTables"]
    assert crawled["Resource"] == [ctx.arn("glue", "catalog"), ctx.arn("glue", "database/db_raw"),
                                   ctx.arn("glue", "table/db_raw/orders_raw_customers"),
                                   ctx.arn("glue", "table/db_raw/orders_raw_orders")]
    assert not any(a.startswith(("glue:Create", "glue:Update", "glue:Delete")) for a in crawled["Action"])
    # the tables' data is under the declared raw prefix, not at <table>/ as an Iceberg table's would be
    assert statements["ReadDeclaredObjects"]["Resource"] == ["arn:aws:s3:::b-raw/orders/*"]
    with pytest.raises(ValueError, match="needs the raw zone's Glue database"):
        job_role_policy(ctx, JobGrant(**{**grant.__dict__, "databases": {"bronze": "db_bronze"}}))


def test_a_job_reading_crawler_tables_gets_the_raw_database_argument():
    from lakehouse.model.platform import aws_lake_location, job_arguments

    zones = ("raw", "bronze", "silver", "gold")
    where = aws_lake_location({z: f"b-{z}" for z in zones}, {z: f"db_{z}" for z in zones})
    assert job_arguments(crawled_job(), where)["--raw_database"] == "db_raw"
    plain = parse_pipeline({"name": "p", "jobs": [job("a", reads=[{"zone": "raw", "prefixes": ["x/"]}])]}, "p.yaml")
    assert "--raw_database" not in job_arguments(plain.job("a"), where)  # files only: no catalog


def test_state_machine_and_crawler_names_aws_would_refuse_fail_before_registration(tmp_path, monkeypatch):
    import yaml

    from lakehouse.model.config import parse_stack_config
    from lakehouse.model.names import orchestration_name_problems, orchestration_names

    pdir = tmp_path / "pipelines"
    pdir.mkdir()
    long = "p" * 40
    (pdir / f"{long}.yaml").write_text(yaml.safe_dump({**declaration(orchestrator="step_functions", crawler=CRAWLER),
                                                       "name": long}))
    monkeypatch.setattr(pipelines_mod, "PIPELINES_DIR", pdir)
    cfg = parse_stack_config("dev", {"environment": "dev", "owner": "o", "costCenter": "c", "pipelines": [long],
                                     "namePrefix": "a-twenty-char-prefix"})
    n = orchestration_names(cfg, long, "sc")
    assert n.state_machine == f"a-twenty-char-prefix-dev-{long}" and len(n.state_machine) == 65
    problems = orchestration_name_problems(cfg, "sc").items
    assert problems == [
        f"{pdir / (long + '.yaml')}: name: got '{n.crawler_role}'; allowed: a crawler role name of at most 64 "
        "characters: shorten namePrefix, the stack or the pipeline name",
        f"{pdir / (long + '.yaml')}: name: got '{n.state_machine_role}'; allowed: a state machine role name of at "
        "most 64 characters: shorten namePrefix, the stack or the pipeline name",
        f"{pdir / (long + '.yaml')}: name: got '{n.schedule_rule}'; allowed: a start rule name of at most 64 "
        "characters: shorten namePrefix, the stack or the pipeline name",
        f"{pdir / (long + '.yaml')}: name: got '{n.start_role}'; allowed: a start role name of at most 64 "
        "characters: shorten namePrefix, the stack or the pipeline name",
    ]
