"""The orders transforms on the shared local Spark session: bronze typing of CSV text (a property test
over generated values), quarantine rows, silver checks/versions/flattening, the gold metric, and the
local crawler's inference and change record (lakelib.io.crawled)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType, IntegerType, LongType, StringType, StructField, StructType

from lakelib.io.crawled import infer_table, partitions_of, read_partition_file, schema_change
from lakelib.io.raw_files import list_all_files
from lakelib.orders import bronze as B
from lakelib.orders import gold as G
from lakelib.orders import silver as S
from lakelib.orders.rules import BRONZE_REASONS, REASONS
from lakelib.orders.schemas import CUSTOMERS, GOLD_COLUMNS, ORDERS

FEW = settings(max_examples=5, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
TEXT_SCHEMA = StructType([StructField(n, StringType()) for n in ("order_id", "quantity", "unit_price", "_corrupt",
                                                                  "source_file")])
TARGET = StructType([StructField("order_id", LongType()), StructField("quantity", IntegerType()),
                     StructField("unit_price", DecimalType(12, 2))])

values = st.one_of(st.none(), st.integers(-2**40, 2**40).map(str), st.sampled_from(
    ["", " 7 ", "two", "1.5", "1e3", "+3", "-0", "2147483648", "12.345", "12.3", "99999999999.99", "9999999999.99",
     "0.5", ".5", "NaN", "１２"]))


@FEW
@given(rows=st.lists(st.tuples(values, values, values), min_size=1, max_size=25))
def test_csv_text_is_typed_exactly_or_quarantined_as_type_mismatch(spark, rows):
    df = spark.createDataFrame([(a, b, c, None, "f.csv") for a, b, c in rows], TEXT_SCHEMA)
    out = B.with_typed_text(df, TARGET).collect()
    assert len(out) == len(rows)
    for (oid, qty, price), r in zip(rows, out):
        def fits(text, lo, hi):
            t = text.strip()
            return t.lstrip("+-").isascii() and t.lstrip("+-").isdigit() and lo <= int(t) <= hi

        def money(text):
            t = text.strip().lstrip("+-")
            whole, _, frac = t.partition(".")
            return t.count(".") <= 1 and whole.isascii() and whole.isdigit() and len(whole) <= 10 and (
                not _ or (frac.isascii() and frac.isdigit() and len(frac) <= 2))

        ok = [v is None or v.strip() == "" and False or check(v) for v, check in (
            (oid, lambda v: fits(v, -2**63, 2**63 - 1)), (qty, lambda v: fits(v, -2**31, 2**31 - 1)),
            (price, money))]
        if all(ok):
            assert r["_reason"] is None, (oid, qty, price, r)
            assert r["order_id"] == (None if oid is None else int(oid.strip()))
            assert r["quantity"] == (None if qty is None else int(qty.strip()))
            assert r["unit_price"] == (None if price is None else Decimal(price.strip()))
        else:
            assert r["_reason"] == "type_mismatch", (oid, qty, price, r)
            bad = [n for n, good in zip(("order_id", "quantity", "unit_price"), ok) if not good]
            assert all(f"{n}=" in r["_detail"] for n in bad)


def test_a_line_with_the_wrong_field_count_is_malformed(spark):
    df = spark.createDataFrame([("1", "2", None, "1,2", "f.csv")], TEXT_SCHEMA)
    r = B.with_typed_text(df, TARGET).first()
    assert (r["_reason"], r["order_id"]) == ("malformed_record", None)


def test_bronze_rows_follow_the_table_and_quarantine_rows_keep_the_record(spark):
    df = spark.createDataFrame([("1", "2", "3.50", None, "a.csv"), ("2", "two", "1.00", None, "a.csv")], TEXT_SCHEMA)
    typed = B.with_typed_text(df, TARGET)
    table = StructType([*TARGET.fields, StructField("channel", StringType())])
    rows = B.to_bronze_rows(typed, table, "batch-0001", "run-1").collect()
    assert [tuple(r) for r in rows] == [(1, 2, Decimal("3.50"), None, "a.csv", "batch-0001", "run-1")]
    q = B.to_quarantine_rows(typed, ORDERS, "order_id", "run-1", ["order_id", "quantity", "unit_price"]).collect()
    assert len(q) == 1 and q[0]["reason"] in BRONZE_REASONS and q[0]["record_key"] == "2"
    assert json.loads(q[0]["record"]) == {"order_id": "2", "quantity": "two", "unit_price": "1.00"}  # as read
    assert q[0]["detail"] == "quantity='two' is not int"


def _orders(spark, rows):
    schema = ("order_id bigint, customer_id string, order_date date, updated_at timestamp, status string, sku string,"
              " quantity int, unit_price decimal(12,2), source_file string, batch string, ingest_run_id string")
    return spark.createDataFrame(rows, schema)


D, T = dt.date(2024, 3, 1), dt.datetime(2024, 3, 1, 10)


def test_silver_checks_report_the_first_failing_rule_then_unknown_customer(spark):
    rows = [
        (1, "C1", D, T, "placed", "s", 1, Decimal("1.00"), "f", "b", "r"),  # ok
        (None, "C1", None, T, "lost", "s", 0, None, "f", "b", "r"),  # order_id_missing first
        (3, "C1", None, T, "lost", "s", 0, None, "f", "b", "r"),  # order_date_missing
        (4, "C1", D, T, "lost", "s", 0, None, "f", "b", "r"),  # quantity_not_positive
        (5, "C1", D, T, "lost", "s", 2, Decimal("-1"), "f", "b", "r"),  # unit_price_invalid
        (6, "C1", D, T, "lost", "s", 2, Decimal("1"), "f", "b", "r"),  # status_unknown
        (7, "C9", D, T, "placed", "s", 2, Decimal("1"), "f", "b", "r"),  # unknown_customer
    ]
    typed = S.to_typed_orders(_orders(spark, rows))
    known = spark.createDataFrame([("C1",)], "customer_id string")
    out = {r["order_id"]: r["_reason"] for r in S.with_customer_check(S.with_checks(typed, ORDERS), known).collect()}
    assert out == {1: None, None: "order_id_missing", 3: "order_date_missing", 4: "quantity_not_positive",
                   5: "unit_price_invalid", 6: "status_unknown", 7: "unknown_customer"}
    assert set(out.values()) - {None} <= set(REASONS)


def test_silver_keeps_the_newest_version_ties_to_the_later_file_and_computes_exact_amounts(spark):
    later = dt.datetime(2024, 3, 2)
    rows = [(1, "C1", D, T, "placed", "s", 3, Decimal("19.99"), "orders/orders/batch-0001/o.csv", "b1", "r"),
            (1, "C1", D, later, "cancelled", "s", 3, Decimal("19.99"), "orders/orders/batch-0002/o.csv", "b2", "r"),
            (2, "C1", D, None, "placed", "s", 1, Decimal("5.00"), "orders/orders/batch-0002/o.csv", "b2", "r"),
            (2, "C1", D, T, "shipped", "s", 1, Decimal("5.00"), "orders/orders/batch-0001/o.csv", "b1", "r"),
            (3, "C1", D, T, "placed", "s", 1, Decimal("1.00"), "orders/orders/batch-0001/o.csv", "b1", "r"),
            (3, "C1", D, T, "shipped", "s", 1, Decimal("1.00"), "orders/orders/batch-0002/o.csv", "b2", "r")]
    checked = S.with_checks(S.to_typed_orders(_orders(spark, rows)), ORDERS)
    kept = {r["order_id"]: (r["status"], r["line_amount"]) for r in S.to_silver_rows(checked, ORDERS).collect()}
    assert kept == {1: ("cancelled", Decimal("59.97")), 2: ("shipped", Decimal("5.00")),
                    3: ("shipped", Decimal("1.00"))}


def test_customers_are_flattened_and_new_nested_fields_carried(spark):
    schema = ("customer_id string, name string, segment string, address struct<street:string,city:string,"
              "country:string,postal_code:string,region:string>, contact struct<email:string,phone:string>, "
              "updated_at timestamp, source_file string, batch string, ingest_run_id string")
    df = spark.createDataFrame([("C1", "n", "smb", ("s", "Paris", "FR", "75001", "EMEA"), ("e@x", "1"), T, "f", "b",
                                 "r")], schema)
    r = S.to_typed_customers(df).first().asDict()
    assert (r["city"], r["country"], r["email"], r["address_region"]) == ("Paris", "FR", "e@x", "EMEA")
    assert "ingest_run_id" not in r and "address" not in r
    assert S.with_checks(S.to_typed_customers(df), CUSTOMERS).first()["_reason"] is None


def test_gold_excludes_cancelled_orders_and_names_a_missing_channel_unknown(spark):
    orders = spark.createDataFrame([
        (1, "C1", D, "placed", 2, Decimal("10.00"), None),
        (2, "C2", D, "shipped", 1, Decimal("2.50"), "web"),
        (3, "C1", D, "cancelled", 5, Decimal("100.00"), None),
        (4, "C1", D, "delivered", 1, Decimal("0.50"), None),
    ], "order_id bigint, customer_id string, order_date date, status string, quantity int, "
       "line_amount decimal(23,2), channel string")
    customers = spark.createDataFrame([("C1", "FR"), ("C2", "FR")], "customer_id string, country string")
    rows = sorted(tuple(r) for r in G.to_daily_revenue(orders, customers).collect())
    assert rows == [(D, "FR", "unknown", 2, 3, Decimal("10.50"), 1), (D, "FR", "web", 1, 1, Decimal("2.50"), 1)]
    assert G.to_daily_revenue(orders.drop("channel"), customers).columns == list(GOLD_COLUMNS)


# --- the local crawler --------------------------------------------------------------------------

def test_inference_records_a_partition_per_batch_folder_and_the_change_between_them(spark, tmp_path):
    root = tmp_path / "raw"
    (root / "src/t/batch-0001").mkdir(parents=True)
    (root / "src/t/batch-0002").mkdir(parents=True)
    (root / "src/t/batch-0001/a.csv").write_text("id,qty\n1,2\n2,3\n")
    (root / "src/t/batch-0002/a.csv").write_text("id,qty,channel\n3000000000,2,web\n")
    (root / "src/t/batch-0002/notes.txt").write_text("not data\n")
    record = infer_table(spark, root.as_uri() + "/", "src/t/", "db_raw", "raw_t")
    assert record["Table"]["Parameters"]["classification"] == "csv"
    assert record["Unclassified"] == ["src/t/batch-0002/notes.txt"]  # listed, never silently skipped
    parts = partitions_of(record)
    assert [p.name for p in parts] == ["batch-0001", "batch-0002"]
    assert parts[0].columns.simpleString() == "struct<id:int,qty:int>"
    change = schema_change(parts[0].columns, parts[1].columns)
    assert change == {"detected": True, "added": ["channel string"], "removed": [], "retyped": ["id: int -> bigint"]}
    assert schema_change(parts[1].columns, parts[1].columns)["detected"] is False
    f = [x for x in list_all_files(spark, root.as_uri() + "/", "src/t/batch-0002/") if x.source_file.endswith(".csv")]
    text = StructType([StructField(n, StringType()) for n in parts[1].columns.names])
    df = read_partition_file(spark, f[0], "csv", text)
    assert [tuple(r) for r in df.select("id", "channel", "source_file", F.col("_corrupt")).collect()] == [
        ("3000000000", "web", "src/t/batch-0002/a.csv", None)]
    df.unpersist()
