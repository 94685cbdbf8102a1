"""The orders extract job on its own (lakelib.orders.jobs.run_extract), on a small batch: a rerun skips
logged files, and a run that died after its data appends but before its ingest log is retried without
storing any record twice."""

from __future__ import annotations

import json

from lakehouse.samples.orders import write_batch
from lakelib.io.crawled import infer_table
from lakelib.orders.jobs import run_extract
from lakelib.runtime.session import local_spark_session


def test_a_retry_after_a_lost_ingest_log_stores_each_record_once(spark, tmp_path):
    raw, wh, cat = tmp_path / "raw", tmp_path / "wh", tmp_path / "catalog"
    write_batch(raw, 1, seed=9, orders=120, customers=30)
    s = local_spark_session(wh)  # its own `local` catalog, the shared JVM
    cat.mkdir()
    for prefix, table in (("orders/orders/", "orders_raw_orders"), ("orders/customers/", "orders_raw_customers")):
        (cat / f"{table}.json").write_text(json.dumps(infer_table(s, raw.as_uri() + "/", prefix, "raw", table)))
    args = {"--catalog": "local", "--raw_path": raw.as_uri() + "/", "--bronze_database": "b",
            "--inferred_catalog": cat.as_uri() + "/", "--run_id": "r1"}

    def counts():
        return {t: s.table(f"local.b.{t}").count() for t in ("orders_orders", "orders_customers", "orders_quarantine",
                                                                "orders_ingested_files")}

    first = run_extract(s, args)
    assert first["input"] == first["accepted"] + first["quarantined"] == 121 + 30  # every data line
    after_first = counts()
    assert run_extract(s, {**args, "--run_id": "r2"})["input"] == 0  # logged files are not read again
    assert counts() == after_first
    s.sql("DELETE FROM local.b.orders_ingested_files")  # as if the run had died before its log commit
    retry = run_extract(s, {**args, "--run_id": "r3"})
    assert retry["files_retried"] == 2 and retry["input"] == first["input"]
    assert counts() == after_first
    runs = {r[0] for r in s.table("local.b.orders_orders").select("ingest_run_id").distinct().collect()}
    assert runs == {"r3"}
