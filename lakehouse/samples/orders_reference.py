"""The orders gold contract (docs/orders-pipeline.md) computed a second time, in DuckDB SQL, straight from
the raw files. Tests compare the Spark pipeline's `orders_daily_revenue` with it row for row. It shares no
code with glue_scripts/: the same rules, written down twice.

`reference_rows(input_dir, aliases)` reads every `*.csv` under `<input_dir>/orders/orders/` and every
`*.json` under `<input_dir>/orders/customers/` (recursively) and returns the gold rows as tuples in
COLUMNS order, sorted by (order_date, country, channel). `quarantine_counts(input_dir, aliases)` returns
{(source, reason): records} over both stages.

Rules (a record quarantined here is one the Spark jobs quarantine):
- A CSV file's header names its columns; `aliases` (the extract job's --column_aliases) renames them.
  A file lacking a required order column (order_id, customer_id, order_date, updated_at, status, sku,
  quantity, unit_price) after renaming: every row `schema_incompatible`.
- An order value that does not parse as its type: `type_mismatch` (order_id, quantity: whole numbers,
  quantity within int; unit_price: at most 10 digits before the point and 2 after; order_date a date,
  updated_at a timestamp). An empty field is null, not a mismatch.
- A customers line that is not a JSON object: `malformed_record`.
- Customers, first failing: `customer_id_missing` (null or blank), `country_missing` (address.country
  null or blank). Orders, first failing: `order_id_missing`, `order_date_missing`,
  `quantity_not_positive` (null or <= 0), `unit_price_invalid` (null or < 0), `status_unknown` (not
  placed/shipped/delivered/cancelled), `unknown_customer` (no accepted customer of that id).
- Versions: among accepted records, per key the greatest updated_at (null oldest), ties to the greatest
  source path.
- Gold: orders not cancelled, joined to their customer's country, grouped by (order_date, country,
  channel or 'unknown'): count of orders, sum of quantity, sum of quantity * unit_price (exact), distinct
  customers.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Mapping

import duckdb

COLUMNS = ("order_date", "country", "channel", "orders", "units", "gross_revenue", "customers")
REQUIRED_ORDER_COLUMNS = ("order_id", "customer_id", "order_date", "updated_at", "status", "sku", "quantity",
                          "unit_price")
DEFAULT_ALIASES = {"customer_ref": "customer_id"}


def _load(con: duckdb.DuckDBPyConnection, input_dir: Path, aliases: Mapping[str, str]) -> None:
    root = Path(input_dir) / "orders"
    con.execute("CREATE TABLE orders_raw (source_file VARCHAR, order_id VARCHAR, customer_id VARCHAR, "
                "order_date VARCHAR, updated_at VARCHAR, status VARCHAR, sku VARCHAR, quantity VARCHAR, "
                "unit_price VARCHAR, channel VARCHAR, incompatible BOOLEAN)")
    for path in sorted((root / "orders").rglob("*.csv")):
        rel = str(path.relative_to(input_dir))
        rel_sql = rel.replace("'", "''")
        con.execute(f"CREATE OR REPLACE TEMP TABLE f AS SELECT * FROM read_csv('{path}', header = true, "
                    "all_varchar = true, quote = '\"')")
        names = [r[0] for r in con.execute("DESCRIBE f").fetchall()]
        renamed = {n: aliases.get(n.lower(), n.lower()) for n in names}
        incompatible = any(c not in renamed.values() for c in REQUIRED_ORDER_COLUMNS)
        cols = []
        for c in ("order_id", "customer_id", "order_date", "updated_at", "status", "sku", "quantity", "unit_price",
                  "channel"):
            src = next((n for n, r in renamed.items() if r == c), None)
            cols.append(f'"{src}"' if src else "NULL")
        con.execute(f"INSERT INTO orders_raw SELECT '{rel_sql}', {', '.join(cols)}, {incompatible} FROM f")
    con.execute("CREATE TABLE customer_lines (source_file VARCHAR, line VARCHAR)")
    for path in sorted((root / "customers").rglob("*.json")):
        rel_sql = str(path.relative_to(input_dir)).replace("'", "''")
        with path.open(encoding="utf-8") as fh:
            lines = [line.rstrip("\n") for line in fh]
        con.executemany("INSERT INTO customer_lines VALUES (?, ?)", [(rel_sql, line) for line in lines if line])


_SQL = """
CREATE TABLE orders_typed AS
SELECT source_file, incompatible, order_id AS t_order_id, quantity AS t_quantity, unit_price AS t_unit_price,
       order_date AS t_order_date, updated_at AS t_updated_at,
       TRY_CAST(order_id AS BIGINT) AS order_id, customer_id, TRY_CAST(order_date AS DATE) AS order_date,
       TRY_CAST(updated_at AS TIMESTAMP) AS updated_at, status, sku,
       TRY_CAST(quantity AS INTEGER) AS quantity, TRY_CAST(unit_price AS DECIMAL(12, 2)) AS unit_price, channel
FROM orders_raw;

CREATE TABLE orders_bronze AS
SELECT *, CASE
    WHEN incompatible THEN 'schema_incompatible'
    WHEN (t_order_id IS NOT NULL AND (NOT regexp_full_match(trim(t_order_id), '[+-]?[0-9]+') OR order_id IS NULL))
      OR (t_quantity IS NOT NULL AND (NOT regexp_full_match(trim(t_quantity), '[+-]?[0-9]+') OR quantity IS NULL))
      OR (t_unit_price IS NOT NULL AND NOT regexp_full_match(trim(t_unit_price), '[+-]?[0-9]{1,10}(\\.[0-9]{1,2})?'))
      OR (t_order_date IS NOT NULL AND order_date IS NULL)
      OR (t_updated_at IS NOT NULL AND updated_at IS NULL) THEN 'type_mismatch'
  END AS reason
FROM orders_typed;

CREATE TABLE customers_bronze AS
SELECT source_file, line,
       CASE WHEN json_valid(line) AND json_type(line::JSON) = 'OBJECT' THEN NULL ELSE 'malformed_record' END AS reason
FROM customer_lines;

CREATE TABLE customers_checked AS
SELECT source_file, line->>'$.customer_id' AS customer_id, line->>'$.address.country' AS country,
       TRY_CAST(line->>'$.updated_at' AS TIMESTAMP) AS updated_at,
       CASE WHEN line->>'$.customer_id' IS NULL OR trim(line->>'$.customer_id') = '' THEN 'customer_id_missing'
            WHEN line->>'$.address.country' IS NULL OR trim(line->>'$.address.country') = '' THEN 'country_missing'
       END AS reason
FROM customers_bronze WHERE reason IS NULL;

CREATE TABLE customers_silver AS
SELECT * FROM customers_checked WHERE reason IS NULL
QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY updated_at DESC NULLS LAST, source_file DESC) = 1;

CREATE TABLE orders_checked AS
SELECT o.*, CASE
    WHEN o.order_id IS NULL THEN 'order_id_missing'
    WHEN o.order_date IS NULL THEN 'order_date_missing'
    WHEN o.quantity IS NULL OR o.quantity <= 0 THEN 'quantity_not_positive'
    WHEN o.unit_price IS NULL OR o.unit_price < 0 THEN 'unit_price_invalid'
    WHEN o.status IS NULL OR o.status NOT IN ('placed', 'shipped', 'delivered', 'cancelled') THEN 'status_unknown'
    WHEN NOT EXISTS (SELECT 1 FROM customers_silver c WHERE c.customer_id = o.customer_id) THEN 'unknown_customer'
  END AS silver_reason
FROM orders_bronze o WHERE o.reason IS NULL;

CREATE TABLE orders_silver AS
SELECT * FROM orders_checked WHERE silver_reason IS NULL
QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC NULLS LAST, source_file DESC) = 1;
"""

_GOLD = """
SELECT o.order_date, c.country, coalesce(o.channel, 'unknown') AS channel, count(*) AS orders,
       sum(o.quantity)::BIGINT AS units, sum(o.quantity * o.unit_price)::DECIMAL(38, 2) AS gross_revenue,
       count(DISTINCT o.customer_id) AS customers
FROM orders_silver o JOIN customers_silver c USING (customer_id)
WHERE o.status <> 'cancelled'
GROUP BY ALL ORDER BY 1, 2, 3
"""


def _connect(input_dir: Path, aliases: Mapping[str, str] | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    _load(con, input_dir, DEFAULT_ALIASES if aliases is None else aliases)
    con.execute(_SQL)
    return con


def reference_rows(input_dir: Path, aliases: Mapping[str, str] | None = None) -> list[tuple]:
    """The gold rows, as (date, str, str, int, int, Decimal, int) tuples in COLUMNS order."""
    with _connect(input_dir, aliases) as con:
        return [tuple(r) for r in con.execute(_GOLD).fetchall()]


def quarantine_counts(input_dir: Path, aliases: Mapping[str, str] | None = None) -> dict[tuple[str, str], int]:
    """{(source, reason): records} of both stages."""
    with _connect(input_dir, aliases) as con:
        rows = con.execute("""
            SELECT 'orders', reason, count(*) FROM orders_bronze WHERE reason IS NOT NULL GROUP BY ALL
            UNION ALL SELECT 'orders', silver_reason, count(*) FROM orders_checked
              WHERE silver_reason IS NOT NULL GROUP BY ALL
            UNION ALL SELECT 'customers', reason, count(*) FROM customers_bronze WHERE reason IS NOT NULL GROUP BY ALL
            UNION ALL SELECT 'customers', reason, count(*) FROM customers_checked WHERE reason IS NOT NULL GROUP BY ALL
        """).fetchall()
    return {(s, r): int(n) for s, r, n in rows}


def total_revenue(rows: list[tuple]) -> Decimal:
    return sum((r[5] for r in rows), Decimal(0))
