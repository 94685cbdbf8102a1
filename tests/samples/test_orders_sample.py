"""lakehouse.samples.orders: deterministic batches whose manifest the end-to-end tests trust."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lakehouse.samples.orders import (
    BIG_ORDER_ID,
    CUSTOMER_DEFECTS,
    ORDER_DEFECTS,
    ORDER_HEADER_1,
    ORDER_HEADER_2,
    POS_HEADER,
    write_batch,
    write_sample,
)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_writes_the_same_bytes_and_another_seed_differs(tmp_path):
    write_sample(tmp_path / "a", seed=1)
    write_sample(tmp_path / "b", seed=1)
    write_sample(tmp_path / "c", seed=2)
    assert _files(tmp_path / "a") == _files(tmp_path / "b") != _files(tmp_path / "c")
    assert sorted(_files(tmp_path / "a")) == [
        "manifest/orders-batch-0001.json", "manifest/orders-batch-0002.json",
        "orders/customers/batch-0001/customers.json", "orders/customers/batch-0002/customers.json",
        "orders/orders/batch-0001/orders.csv", "orders/orders/batch-0002-pos/orders.csv",
        "orders/orders/batch-0002/orders.csv"]


def test_the_manifest_counts_what_the_files_hold(tmp_path):
    m1, m2 = write_sample(tmp_path, seed=3)
    for m in (m1, m2):
        assert sum(m["files"].values()) == m["rows"]["orders"] + m["rows"]["customers"]
        for rel, n in m["files"].items():
            lines = (tmp_path / rel).read_text().splitlines()
            assert len(lines) - rel.endswith(".csv") == n  # a CSV's header is not a row
        assert set(m["bad"]["orders"]) - {"schema_incompatible"} == set(ORDER_DEFECTS)  # every kind, each once+
        assert set(m["bad"]["customers"]) == set(CUSTOMER_DEFECTS)
    rows1 = list(csv.DictReader((tmp_path / "orders/orders/batch-0001/orders.csv").open()))
    assert sum(r["quantity"] == "two" for r in rows1) == m1["bad"]["orders"]["quantity_not_a_number"]
    assert sum(r["order_date"] == "" for r in rows1) == m1["bad"]["orders"]["order_date_missing"]


def test_batch_2_changes_the_schema(tmp_path):
    write_sample(tmp_path, seed=0)
    headers = {p: next(csv.reader((tmp_path / "orders/orders" / p / "orders.csv").open()))
               for p in ("batch-0001", "batch-0002", "batch-0002-pos")}
    assert headers == {"batch-0001": ORDER_HEADER_1, "batch-0002": ORDER_HEADER_2, "batch-0002-pos": POS_HEADER}
    rows2 = list(csv.DictReader((tmp_path / "orders/orders/batch-0002/orders.csv").open()))
    assert max(int(r["order_id"]) for r in rows2) > BIG_ORDER_ID > 2**31
    assert any(float(r["unit_price"]) > 1000 for r in rows2)
    c1, c2 = ([json.loads(x) for x in (tmp_path / f"orders/customers/batch-000{b}/customers.json").read_text()
               .splitlines() if x.endswith("}")] for b in (1, 2))
    assert not any("region" in c["address"] for c in c1) and any("region" in c["address"] for c in c2)


def test_a_third_batch_is_refused(tmp_path):
    with pytest.raises(ValueError, match="batch: got 3"):
        write_batch(tmp_path, 3)
