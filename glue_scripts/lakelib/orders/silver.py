"""Orders silver (the transform job's transforms): bronze rows -> typed, flattened, checked and
deduplicated silver rows. Pure DataFrame -> DataFrame functions.

- customers: the nested JSON flattened (address.city -> city ...; a nested field a batch added becomes
  <parent>_<field>, e.g. address_region), checked (rules.CUSTOMER_CHECKS);
- orders: cast to silver's widest types (order_id bigint whatever bronze held), line_amount =
  quantity * unit_price (exact decimal), checked (rules.ORDER_CHECKS, then unknown_customer);
- versions: one row per key among the accepted records, the greatest updated_at (nulls oldest), ties
  to the greatest source_file (the later batch);
- columns bronze gained beyond silver's declared ones (a new source column) are carried with their type.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from .bronze import DETAIL, REASON
from .rules import CUSTOMER_CHECKS, ORDER_CHECKS
from .schemas import CUSTOMERS, LINEAGE_COLUMNS, ORDERS, SILVER, SILVER_KEYS

# the base nested fields and their flat silver names
CUSTOMER_FLAT = {"address.street": "street", "address.city": "city", "address.country": "country",
                 "address.postal_code": "postal_code", "contact.email": "email", "contact.phone": "phone"}


def _leaves(schema: StructType, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for f in schema.fields:
        if isinstance(f.dataType, StructType):
            out.extend(_leaves(f.dataType, f"{prefix}{f.name}."))
        else:
            out.append((prefix + f.name, f.dataType))
    return out


def _col(path: str) -> Column:
    return F.col(".".join(f"`{p}`" for p in path.split(".")))


def extra_columns(bronze: StructType, source: str) -> list[tuple[str, str]]:
    """(bronze path, silver column) of the fields bronze holds beyond silver's declared columns."""
    declared = {f.name for f in SILVER[source].fields}
    known = set(CUSTOMER_FLAT) if source == CUSTOMERS else set()
    out = []
    for path, _ in _leaves(bronze):
        name = path.replace(".", "_")
        if path in known or path in LINEAGE_COLUMNS or path == "ingest_run_id" or name in declared:
            continue
        out.append((path, name))
    return out


def to_typed_customers(bronze: DataFrame) -> DataFrame:
    """Bronze customers flattened to silver's columns (plus extras)."""
    cols = []
    for f in SILVER[CUSTOMERS].fields:
        path = next((p for p, n in CUSTOMER_FLAT.items() if n == f.name), f.name)
        cols.append(_col(path).cast(f.dataType).alias(f.name))
    cols += [_col(p).alias(n) for p, n in extra_columns(bronze.schema, CUSTOMERS)]
    return bronze.select(*cols)


def to_typed_orders(bronze: DataFrame) -> DataFrame:
    """Bronze orders in silver's types (plus extras); line_amount computed."""
    cols = []
    for f in SILVER[ORDERS].fields:
        if f.name == "line_amount":
            cols.append((F.col("quantity").cast("decimal(10,0)") * F.col("unit_price")).cast(f.dataType).alias(f.name))
        else:
            cols.append(F.col(f.name).cast(f.dataType).alias(f.name))
    cols += [_col(p).alias(n) for p, n in extra_columns(bronze.schema, ORDERS)]
    return bronze.select(*cols)


def _first_failing(checks) -> tuple[Column, Column]:
    reason, detail = F.lit(None).cast("string"), F.lit(None).cast("string")
    for name, condition in reversed(checks):
        reason = F.when(F.expr(condition), F.lit(name)).otherwise(reason)
        detail = F.when(F.expr(condition), F.lit(condition)).otherwise(detail)
    return reason, detail


def with_checks(df: DataFrame, source: str) -> DataFrame:
    """REASON / DETAIL of the first failing check of `source` (null: the record passes)."""
    reason, detail = _first_failing(ORDER_CHECKS if source == ORDERS else CUSTOMER_CHECKS)
    return df.withColumn(REASON, reason).withColumn(DETAIL, detail)


def with_customer_check(orders: DataFrame, customer_ids: DataFrame) -> DataFrame:
    """An order that passed its own checks but names no accepted customer: REASON unknown_customer."""
    known = customer_ids.select(F.col("customer_id").alias("_known")).distinct()
    joined = orders.join(F.broadcast(known), orders["customer_id"] == known["_known"], "left")
    unknown = F.col(REASON).isNull() & F.col("_known").isNull()
    return (joined.withColumn(DETAIL, F.when(unknown, F.concat(F.lit("customer_id="), F.coalesce(
        F.col("customer_id"), F.lit("null")))).otherwise(F.col(DETAIL)))
            .withColumn(REASON, F.when(unknown, F.lit("unknown_customer")).otherwise(F.col(REASON)))
            .drop("_known"))


def latest_versions(accepted: DataFrame, source: str) -> DataFrame:
    """One row per key: the greatest updated_at (nulls oldest), then the greatest source_file."""
    key = SILVER_KEYS[source]
    w = Window.partitionBy(key).orderBy(F.col("updated_at").desc_nulls_last(), F.col("source_file").desc())
    return accepted.withColumn("_v", F.row_number().over(w)).where(F.col("_v") == 1).drop("_v")


def to_silver_rows(checked: DataFrame, source: str) -> DataFrame:
    """The accepted records, one per key, without the check columns."""
    return latest_versions(checked.where(F.col(REASON).isNull()), source).drop(REASON, DETAIL)
