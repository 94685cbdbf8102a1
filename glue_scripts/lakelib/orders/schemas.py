"""Every table of the orders pipeline, in one place: names, the declared bronze base schemas (what a
source's columns are known to be before any batch widens or extends them), silver, gold, quarantine
and the ingest log (docs/orders-pipeline.md)."""

from __future__ import annotations

from pyspark.sql.types import (
    DateType,
    DecimalType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

# the sources: crawler table (raw zone) -> the bronze table it lands in
ORDERS, CUSTOMERS = "orders", "customers"
SOURCES = (CUSTOMERS, ORDERS)  # customers first: silver checks orders against them
CRAWLER_TABLES = {ORDERS: "orders_raw_orders", CUSTOMERS: "orders_raw_customers"}
BRONZE_TABLES = {ORDERS: "orders_orders", CUSTOMERS: "orders_customers"}
INGEST_LOG_TABLE = "orders_ingested_files"
QUARANTINE_TABLE = "orders_quarantine"  # in bronze and in silver
SILVER_TABLES = {ORDERS: "orders", CUSTOMERS: "customers"}
GOLD_TABLE = "orders_daily_revenue"

MONEY = DecimalType(12, 2)  # money is never a float; unit prices up to 9,999,999,999.99

# Declared base columns of each source. A batch may add columns (new columns, nested fields too) and
# widen these types the ways Iceberg allows (int -> bigint, float -> double, decimal precision); the
# bronze table's current schema is then the base plus what batches brought (lakelib.orders.evolution).
# order_id starts as int: the source's first id range; batch 2 of the sample widens it to bigint.
BRONZE_BASE = {
    ORDERS: StructType([
        StructField("order_id", IntegerType()),
        StructField("customer_id", StringType()),
        StructField("order_date", DateType()),
        StructField("updated_at", TimestampType()),
        StructField("status", StringType()),
        StructField("sku", StringType()),
        StructField("quantity", IntegerType()),
        StructField("unit_price", MONEY),
    ]),
    CUSTOMERS: StructType([
        StructField("customer_id", StringType()),
        StructField("name", StringType()),
        StructField("segment", StringType()),
        StructField("address", StructType([StructField(n, StringType())
                                           for n in ("street", "city", "country", "postal_code")])),
        StructField("contact", StructType([StructField("email", StringType()), StructField("phone", StringType())])),
        StructField("updated_at", TimestampType()),
    ]),
}
# a batch without one of these columns is incompatible (its rows are quarantined, never loaded with nulls)
REQUIRED = {
    ORDERS: ("order_id", "customer_id", "order_date", "updated_at", "status", "sku", "quantity", "unit_price"),
    CUSTOMERS: ("customer_id", "address", "updated_at"),
}
# how each raw table is stored (the crawler's classification)
FORMATS = {ORDERS: "csv", CUSTOMERS: "json"}

# lineage columns bronze adds to every row (after the source's columns)
LINEAGE = StructType([
    StructField("source_file", StringType()),  # relative to the raw zone root
    StructField("batch", StringType()),  # the crawler partition (batch folder)
    StructField("ingest_run_id", StringType()),
])
LINEAGE_COLUMNS = tuple(f.name for f in LINEAGE.fields)

INGEST_LOG = StructType([
    StructField("source_file", StringType()),
    StructField("source", StringType()),
    StructField("batch", StringType()),
    StructField("rows", LongType()),
    StructField("accepted", LongType()),
    StructField("quarantined", LongType()),
    StructField("run_id", StringType()),
    StructField("reason", StringType()),  # a file quarantined as a whole: schema_incompatible
    StructField("detail", StringType()),
])

QUARANTINE = StructType([
    StructField("stage", StringType()),  # bronze | silver
    StructField("source", StringType()),  # orders | customers
    StructField("reason", StringType()),  # rules.REASONS
    StructField("detail", StringType()),
    StructField("record_key", StringType()),  # order_id / customer_id as text, when known
    StructField("source_file", StringType()),
    StructField("record", StringType()),  # the record as read (JSON text)
    StructField("run_id", StringType()),
])

# silver: typed at their widest, one row per key. Columns a batch adds to bronze beyond these are
# carried into silver with their bronze type (added to the silver table when they first appear).
SILVER = {
    ORDERS: StructType([
        StructField("order_id", LongType()),
        StructField("customer_id", StringType()),
        StructField("order_date", DateType()),
        StructField("updated_at", TimestampType()),
        StructField("status", StringType()),
        StructField("sku", StringType()),
        StructField("quantity", IntegerType()),
        StructField("unit_price", MONEY),
        StructField("line_amount", DecimalType(23, 2)),  # quantity * unit_price, exact
        StructField("source_file", StringType()),
        StructField("batch", StringType()),
    ]),
    CUSTOMERS: StructType([  # nested JSON flattened
        StructField("customer_id", StringType()),
        StructField("name", StringType()),
        StructField("segment", StringType()),
        StructField("street", StringType()),
        StructField("city", StringType()),
        StructField("country", StringType()),
        StructField("postal_code", StringType()),
        StructField("email", StringType()),
        StructField("phone", StringType()),
        StructField("updated_at", TimestampType()),
        StructField("source_file", StringType()),
        StructField("batch", StringType()),
    ]),
}
SILVER_KEYS = {ORDERS: "order_id", CUSTOMERS: "customer_id"}

GOLD = StructType([
    StructField("order_date", DateType()),
    StructField("country", StringType()),
    StructField("channel", StringType()),  # 'unknown' for orders from before the source sent a channel
    StructField("orders", LongType()),
    StructField("units", LongType()),
    StructField("gross_revenue", DecimalType(38, 2)),
    StructField("customers", LongType()),
])
GOLD_COLUMNS = tuple(f.name for f in GOLD.fields)
