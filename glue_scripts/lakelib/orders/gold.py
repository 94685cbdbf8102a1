"""Orders gold (the load job's transform): silver orders + customers -> orders_daily_revenue, the metric
contract of docs/orders-pipeline.md. Pure DataFrame -> DataFrame."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .rules import EXCLUDED_FROM_REVENUE
from .schemas import GOLD

UNKNOWN_CHANNEL = "unknown"


def filter_revenue_orders(orders: DataFrame) -> DataFrame:
    """The orders that count: every silver order but the cancelled ones."""
    return orders.where(~F.col("status").isin(*EXCLUDED_FROM_REVENUE))


def to_daily_revenue(orders: DataFrame, customers: DataFrame) -> DataFrame:
    """One row per (order_date, customer's country, channel): orders, units, gross revenue
    (sum of quantity * unit_price, exact), distinct customers. An order from before the source sent a
    channel is channel 'unknown'. Every silver order names a silver customer (silver's unknown_customer
    check), so the inner join drops none."""
    channel = F.col("channel") if "channel" in orders.columns else F.lit(None).cast("string")
    o = filter_revenue_orders(orders).select("order_id", "customer_id", "order_date", "quantity", "line_amount",
                                             F.coalesce(channel, F.lit(UNKNOWN_CHANNEL)).alias("channel"))
    c = customers.select("customer_id", "country")
    return (
        o.join(c, "customer_id")
        .groupBy("order_date", "country", "channel")
        .agg(F.count("order_id").alias("orders"), F.sum("quantity").cast("bigint").alias("units"),
             F.sum("line_amount").cast(GOLD["gross_revenue"].dataType).alias("gross_revenue"),
             F.countDistinct("customer_id").alias("customers"))
        .select(*[F.col(f.name).cast(f.dataType) for f in GOLD.fields])
    )
