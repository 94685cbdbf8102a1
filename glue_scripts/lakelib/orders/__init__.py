"""The orders pipeline: orders CSV + nested customers JSON -> orders_daily_revenue, with schema evolution
(docs/orders-pipeline.md)."""
