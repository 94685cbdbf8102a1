"""The orders pipeline end to end through the local runner (`python -m lakehouse.runner run --pipeline
orders`): generated batch 1, then batch 2 with a schema change (a new column, a nested field added,
order_id widened int -> bigint, a declared rename, an undeclared rename), on one warehouse. Checked
against the generator's manifest and the independent DuckDB reference (lakehouse.samples.orders_reference).

Each step is a module-scoped fixture depending on the previous one, so any test can run alone.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from lakehouse.model import config as C
from lakehouse.model.pipelines import load_pipeline
from lakehouse.runner import cli
from lakehouse.samples.orders import BIG_ORDER_ID, BRONZE_REASONS, CUSTOMER_DEFECTS, ORDER_DEFECTS, write_batch
from lakehouse.samples.orders_reference import COLUMNS, quarantine_counts, reference_rows

ORDERS = 600  # per batch: small for a 2-core CI
CUSTOMERS = 80


def _with_orders(stack: str) -> C.StackConfig:
    """The stack's config with the orders pipeline deployed (as Pulumi.<stack>.yaml will list it)."""
    values = C.stack_file_values(stack)
    key = "glue-lakehouse:pipelines" if "glue-lakehouse:pipelines" in values else "pipelines"
    names = list(values.get(key) or [])
    if "orders" not in names:
        values[key] = names + ["orders"]
    return C.parse_stack_config(stack, values)


CFG = _with_orders("dev")
DB = {z: CFG.database_name(z) for z in ("bronze", "silver", "gold")}
GOLD = f"{DB['gold']}.orders_daily_revenue"


def run(input_dir: Path, warehouse: Path, *extra: str) -> dict:
    latest = warehouse / "_runs" / "latest.json"
    code = cli.main(["run", "--pipeline", "orders", "--input", str(input_dir), "--warehouse", str(warehouse), *extra])
    assert code == 0, f"runner exit {code}" + (f": {latest.read_text()[:3000]}" if latest.exists() else "")
    return json.loads(latest.read_text())


def gold_of(report: dict) -> list[tuple]:
    g = report["gold"][GOLD]
    assert tuple(g["columns"]) == COLUMNS
    return sorted(tuple(r) for r in g["rows"])


def snapshot(spark, warehouse: Path) -> dict:
    """Schemas and rows of the tables a test looks at, right after a run."""
    from lakelib.runtime.session import local_spark_session

    s = local_spark_session(warehouse)
    out = {}
    for zone, table in (("bronze", "orders_orders"), ("bronze", "orders_customers"), ("bronze", "orders_quarantine"),
                        ("silver", "orders"), ("silver", "customers"), ("silver", "orders_quarantine")):
        df = s.table(f"local.{DB[zone]}.{table}")
        out[f"{zone}.{table}"] = {"schema": {f.name: f.dataType.simpleString() for f in df.schema.fields},
                                  "rows": [r.asDict(recursive=True) for r in df.collect()]}
    return out


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("orders")
    inp, wh = root / "in", root / "wh"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli, "load_stack_config", _with_orders)
        m1 = write_batch(inp, 1, seed=5, orders=ORDERS, customers=CUSTOMERS)
        first = run(inp, wh)
        records_first = {t["table"]: json.loads(Path(t["record"]).read_text()) for t in first["crawler"]}
        after_first = snapshot(spark, wh)
        ref_first = reference_rows(inp)
        m2 = write_batch(inp, 2, seed=5, orders=ORDERS, customers=CUSTOMERS)
        second = run(inp, wh)
        after_second = snapshot(spark, wh)
        forced = run(inp, wh, "--force")
        yield {"input": inp, "wh": wh, "manifests": [m1, m2], "reports": [first, second], "forced": forced,
               "tables": [after_first, after_second], "ref_first": ref_first,
               "records_first": records_first}


def jobs_of(report: dict) -> dict[str, dict]:
    return {j["job"]: j for j in report["jobs"]}


# --- the crawler (local schema inference) ------------------------------------------------------

def test_the_crawler_runs_first_and_records_tables_columns_and_partitions(lake):
    crawl = {t["table"]: t for t in lake["reports"][0]["crawler"]}
    assert list(crawl) == list(load_pipeline("orders").crawler.tables())
    orders = crawl["orders_raw_orders"]
    assert orders["database"] == CFG.database_name("raw") and orders["classification"] == "csv"
    assert orders["partitions"] == ["batch-0001"] and orders["new_partitions"] == ["batch-0001"]
    assert "order_id int" in orders["columns"] and "customer_id string" in orders["columns"]
    assert not orders["change_detected"]  # nothing to compare with yet
    record = lake["records_first"]["orders_raw_orders"]  # the local catalog record, Glue-shaped
    assert record["Table"]["Name"] == "orders_raw_orders"
    assert [p["Values"] for p in record["Partitions"]] == [["batch-0001"]]
    assert {c["Name"]: c["Type"] for c in record["Partitions"][0]["StorageDescriptor"]["Columns"]}["order_id"] == "int"
    assert crawl["orders_raw_customers"]["classification"] == "json"
    latest = json.loads(Path(orders["record"]).read_text())  # rewritten by the second crawl
    assert [p["Values"] for p in latest["Partitions"]] == [["batch-0001"], ["batch-0002"], ["batch-0002-pos"]]


def test_the_crawler_detects_the_schema_change_of_batch_2(lake):
    crawl = {t["table"]: t for t in lake["reports"][1]["crawler"]}
    orders = crawl["orders_raw_orders"]
    assert orders["change_detected"]
    assert orders["new_partitions"] == ["batch-0002", "batch-0002-pos"]
    change = next(c for c in orders["partition_changes"] if c["partition"] == "batch-0002")
    assert change["previous_partition"] == "batch-0001" and change["detected"]
    assert {"channel string", "customer_ref string"} <= set(change["added"])
    assert "customer_id" in change["removed"]
    assert "order_id: int -> bigint" in change["retyped"]
    customers = crawl["orders_raw_customers"]
    assert customers["change_detected"]
    assert customers["partition_changes"][0]["added"] == ["address.region string"]
    assert customers["change_vs_previous_crawl"]["added"] == ["address.region string"]


# --- reconciliation ----------------------------------------------------------------------------

def test_every_job_reconciles_input_with_accepted_plus_quarantined(lake):
    for report, m in zip(lake["reports"], lake["manifests"]):
        jobs = jobs_of(report)
        assert [j["status"] for j in report["jobs"]] == ["succeeded"] * 3
        for j in jobs.values():
            assert j["input"] == j["accepted"] + j["quarantined"], j
        assert jobs["extract"]["input"] == m["rows"]["orders"] + m["rows"]["customers"]
        bronze_bad = sum(n for kinds, defects in ((m["bad"]["orders"], ORDER_DEFECTS),
                                                  (m["bad"]["customers"], CUSTOMER_DEFECTS))
                         for k, n in kinds.items() if defects.get(k, k) in BRONZE_REASONS)
        assert jobs["extract"]["quarantined"] == bronze_bad > 0
    first, second = (jobs_of(r) for r in lake["reports"])
    # silver recomputes from all of bronze: its input is every record bronze ever accepted
    assert second["transform"]["input"] == first["extract"]["accepted"] + second["extract"]["accepted"]


def test_a_forced_rerun_ingests_nothing_and_keeps_gold(lake):
    jobs = jobs_of(lake["forced"])
    assert jobs["extract"]["input"] == 0 and jobs["extract"]["result"]["files_already_ingested"] == 5
    assert gold_of(lake["forced"]) == gold_of(lake["reports"][1])


def test_a_first_run_writes_exactly_the_tables_each_job_declares(lake):
    declared = {j.name: sorted(j.declared_writes()) for j in load_pipeline("orders").jobs if not j.is_maintenance}
    assert {j["job"]: j["result"]["writes"] for j in lake["reports"][0]["jobs"]} == declared


# --- gold against DuckDB over the raw files ----------------------------------------------------

def _as_reference(rows: list[tuple]) -> list[tuple]:
    from datetime import date

    return sorted((date.fromisoformat(str(r[0])), r[1], r[2], r[3], r[4], Decimal(str(r[5])), r[6]) for r in rows)


def test_gold_equals_the_reference_after_each_batch(lake):
    first, second = (_as_reference(gold_of(r)) for r in lake["reports"])
    assert first == lake["ref_first"] and len(first) > 50
    assert second == reference_rows(lake["input"])
    assert second != first
    assert {r[2] for r in first} == {"unknown"}  # batch 1 had no channel column
    assert {"web", "store", "phone"} <= {r[2] for r in second}


# --- schema evolution ----------------------------------------------------------------------------

def test_new_columns_appear_in_bronze_and_silver_with_batch_2(lake):
    before, after = lake["tables"]
    assert "channel" not in before["bronze.orders_orders"]["schema"]
    assert "channel" not in before["silver.orders"]["schema"]
    assert after["bronze.orders_orders"]["schema"]["channel"] == "string"
    assert after["silver.orders"]["schema"]["channel"] == "string"
    assert "region" in after["bronze.orders_customers"]["schema"]["address"]
    assert after["silver.customers"]["schema"]["address_region"] == "string"
    rows = after["silver.orders"]["rows"]
    assert all(r["channel"] is not None for r in rows if r["batch"] == "batch-0002")
    assert all(r["channel"] is None for r in rows if r["batch"] == "batch-0001")
    assert any(r["address_region"] for r in after["silver.customers"]["rows"])


def test_widened_order_ids_and_large_prices_are_not_truncated(lake):
    before, after = lake["tables"]
    assert before["bronze.orders_orders"]["schema"]["order_id"] == "int"
    assert after["bronze.orders_orders"]["schema"]["order_id"] == "bigint"
    ids = {r["order_id"] for r in after["silver.orders"]["rows"] if r["batch"] == "batch-0002"}
    assert min(i for i in ids if i > 2**31) > BIG_ORDER_ID > 2**31 - 1
    # every accepted batch-2 line of the CSV is in bronze with its exact id and price
    import csv

    with (lake["input"] / "orders/orders/batch-0002/orders.csv").open() as fh:
        text = {(int(r["order_id"]), r["unit_price"]) for r in csv.DictReader(fh)
                if r["quantity"].lstrip("-").isdigit()}
    stored = {(r["order_id"], f"{r['unit_price']:.2f}") for r in after["bronze.orders_orders"]["rows"]
              if r["batch"] == "batch-0002"}
    assert stored == text
    assert max(Decimal(p) for _, p in stored) > 1000  # the B2B prices of batch 2


def test_declared_rename_is_loaded_and_undeclared_rename_is_quarantined_with_its_reason(lake):
    m2 = lake["manifests"][1]
    after = lake["tables"][1]
    batch2 = [r for r in after["bronze.orders_orders"]["rows"] if r["batch"] == "batch-0002"]
    assert batch2 and all(r["customer_id"] for r in batch2)  # customer_ref=customer_id (--column_aliases)
    pos = [r for r in after["bronze.orders_quarantine"]["rows"] if r["source_file"] == m2["schema_incompatible_file"]]
    assert len(pos) == m2["bad"]["orders"]["schema_incompatible"] == 25
    assert {r["reason"] for r in pos} == {"schema_incompatible"}
    assert {r["detail"] for r in pos} == {"column unit_price missing, price unexpected (a renamed field? declare it "
                                          "in --column_aliases old=new)"}
    assert all(json.loads(r["record"])["price"] for r in pos)  # the record kept as read
    extract = jobs_of(lake["reports"][1])["extract"]["result"]
    pos_batch = next(b for b in extract["batches"] if b["partition"] == "batch-0002-pos")
    assert pos_batch["accepted"] == 0 and pos_batch["quarantined"] == 25
    b2 = next(b for b in extract["batches"] if b["partition"] == "batch-0002" and b["source"] == "orders")
    assert b2["renames"] == {"customer_ref": "customer_id"} and b2["widenings"] == ["order_id: int -> bigint"]
    assert b2["additions"] == ["channel string"]


def test_quarantine_matches_the_manifests_and_the_reference(lake):
    after = lake["tables"][1]
    actual = Counter((r["source"], r["reason"]) for t in ("bronze.orders_quarantine", "silver.orders_quarantine")
                     for r in after[t]["rows"])
    expected = Counter()
    for m in lake["manifests"]:
        for source, defects in (("orders", ORDER_DEFECTS), ("customers", CUSTOMER_DEFECTS)):
            for kind, n in m["bad"][source].items():
                expected[(source, defects.get(kind, kind))] += n
    assert actual == expected
    assert Counter(quarantine_counts(lake["input"])) == expected
    assert all(r["detail"] for t in ("bronze.orders_quarantine", "silver.orders_quarantine")
               for r in after[t]["rows"])
