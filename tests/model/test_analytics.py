"""What analysts get: the headline queries run (on DuckDB, against tables with the gold columns), the
analyst role reaches gold only, and the scan cutoff is validated with the config."""

from __future__ import annotations

import json
from dataclasses import replace

import duckdb
import pytest

from lakehouse.model.analytics import HEADLINE_QUERIES, gold_tables, headline_queries
from lakehouse.model.config import PROJECT, load_stack_config, parse_stack_config, stack_file_values
from lakehouse.model.errors import ConfigError
from lakehouse.model.iam import AnalystGrant, analyst_role_policy
from lakehouse.model.names import AwsContext, lake_names
from lakehouse.samples.fhir_reference import COLUMNS as FHIR_GOLD
from lakelib.climate.schemas import METRIC_COLUMNS as CLIMATE_GOLD

CTX = AwsContext("123456789012", "us-east-1")
GOLD_COLUMNS = {"cms_facility_monthly": FHIR_GOLD, "climate_daily_metrics": CLIMATE_GOLD}


def test_the_shipped_pipelines_serve_their_gold_tables_and_every_headline_question():
    cfg = load_stack_config("prod")
    # every gold table a declared job writes (orders' revenue and the data-quality results of jobs with
    # `quality:` rules included), and the headline tables among them
    assert gold_tables(cfg.pipelines) == tuple(sorted(
        {t for p in cfg.pipelines for j in p.jobs for a in j.writes if a.zone == "gold" for t in a.tables}))
    assert {"climate_daily_metrics", "cms_facility_monthly", "orders_daily_revenue", "dq_results"} <= set(
        gold_tables(cfg.pipelines))
    assert {"silver", "bronze"}.isdisjoint(gold_tables(cfg.pipelines))
    assert headline_queries(cfg.pipelines) == HEADLINE_QUERIES
    fhir_only = tuple(p for p in cfg.pipelines if p.name == "fhir")
    assert {q.table for q in headline_queries(fhir_only)} == {"cms_facility_monthly"}


@pytest.mark.parametrize("query", HEADLINE_QUERIES, ids=lambda q: q.name)
def test_each_headline_query_runs_on_the_gold_columns(query):
    """A column the query names and the table lacks fails here (DuckDB's binder), not in Athena."""
    db = duckdb.connect()
    columns = GOLD_COLUMNS[query.table]
    types = {c: ("DATE" if c in ("month", "date") else "VARCHAR" if c.endswith(("_id", "_name", "_type"))
                 else "DOUBLE") for c in columns}
    db.execute(f"CREATE TABLE {query.table} ({', '.join(f'{c} {t}' for c, t in types.items())})")
    db.execute(f"INSERT INTO {query.table} SELECT * FROM (VALUES ({', '.join(_value(types[c]) for c in columns)}))")
    names = [d[0] for d in db.execute(query.sql).description]
    assert set(names) <= set(columns)
    with pytest.raises(duckdb.BinderException):
        db.execute(query.sql.replace(names[-1], names[-1] + "_typo", 1))


def _value(sql_type: str) -> str:
    return {"DATE": "DATE '2024-06-01'", "VARCHAR": "'x'", "DOUBLE": "1.0"}[sql_type]


GRANT = AnalystGrant(workgroup="lh-prod-analytics", gold_bucket="lh-prod-gold-1", gold_database="lh_prod_gold",
                     gold_tables=("cms_facility_monthly",), results_bucket="lh-prod-temp-1",
                     results_prefix="athena-results/", key_alias="alias/lh-prod-lake")


def test_the_analyst_role_names_only_gold_the_results_prefix_and_the_workgroup():
    text = json.dumps(analyst_role_policy(CTX, GRANT))
    names = lake_names(load_stack_config("prod"), CTX.account_id)
    for zone in ("raw", "bronze", "silver"):
        assert zone not in text
    assert "arn:aws:s3:::lh-prod-gold-1/cms_facility_monthly/*" in text
    assert "arn:aws:s3:::lh-prod-temp-1/athena-results/*" in text
    assert names.analyst_role == "lakehouse-prod-analyst" and names.workgroup == "lakehouse-prod-analytics"
    with pytest.raises(ValueError, match="at least one gold table"):
        analyst_role_policy(CTX, replace(GRANT, gold_tables=()))


@pytest.mark.parametrize("value", [5, 10_000_001])
def test_an_out_of_range_scan_cutoff_names_the_key_and_the_range(value):
    values = {**stack_file_values("dev"), f"{PROJECT}:athenaBytesScannedCutoffMb": value}
    with pytest.raises(ConfigError) as e:
        parse_stack_config("dev", values)
    assert e.value.problems == [f"{PROJECT}:athenaBytesScannedCutoffMb: got {value}; "
                                "allowed: a whole number from 10 to 10000000"]
