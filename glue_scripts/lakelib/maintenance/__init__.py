"""Table maintenance of every pipeline's Iceberg tables (docs/operations.md, "Table maintenance")."""
