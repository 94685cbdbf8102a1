"""Orders rules as data: the quarantine reasons (a closed set) and the silver checks, in order (the first
failing check is a record's reason). docs/orders-pipeline.md lists the same table."""

from __future__ import annotations

REASONS = {
    # bronze: the record against the bronze table's (evolved) schema
    "schema_incompatible": "the batch's columns cannot be loaded: a required column missing (an undeclared rename: "
                           "'column X missing, Y unexpected'), or a struct where a value was; every row of the batch",
    "type_mismatch": "a value does not parse as its column's type in the table (detail: column='value' is not type)",
    "malformed_record": "not a record: a JSON line that is not an object of the table's shape, a CSV line with "
                        "more or fewer fields than its header",
    # silver: the typed record
    "order_id_missing": "an order without order_id",
    "order_date_missing": "an order without order_date",
    "quantity_not_positive": "quantity missing, 0 or negative",
    "unit_price_invalid": "unit_price missing or negative",
    "status_unknown": "status is not one of ORDER_STATUSES",
    "unknown_customer": "customer_id names no customer silver accepted",
    "customer_id_missing": "a customer without customer_id",
    "country_missing": "a customer without address.country (gold groups revenue by country)",
}
BRONZE_REASONS = frozenset({"schema_incompatible", "type_mismatch", "malformed_record"})
SILVER_REASONS = frozenset(REASONS) - BRONZE_REASONS

ORDER_STATUSES = ("placed", "shipped", "delivered", "cancelled")
EXCLUDED_FROM_REVENUE = ("cancelled",)

# silver checks, in order: (reason, SQL condition that FAILS the record) over the typed columns
ORDER_CHECKS = (
    ("order_id_missing", "order_id IS NULL"),
    ("order_date_missing", "order_date IS NULL"),
    ("quantity_not_positive", "quantity IS NULL OR quantity <= 0"),
    ("unit_price_invalid", "unit_price IS NULL OR unit_price < 0"),
    ("status_unknown", "status IS NULL OR status NOT IN (" + ", ".join(f"'{s}'" for s in ORDER_STATUSES) + ")"),
    # unknown_customer: checked against silver customers (silver.with_customer_check)
)
CUSTOMER_CHECKS = (
    ("customer_id_missing", "customer_id IS NULL OR trim(customer_id) = ''"),
    ("country_missing", "country IS NULL OR trim(country) = ''"),
)
