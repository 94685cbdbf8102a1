"""Shared library of the lakehouse Glue scripts (shipped to Glue with --extra-py-files).

Packages:
- runtime: what every job run shares. args (job argument parsing and validation: Glue
  getResolvedOptions or plain argv), session (the one place that builds Spark sessions, Glue or
  local Iceberg Hadoop catalog, and the entry scripts' main()), job (the run id, the record of
  what a run wrote, the reconciliation input = accepted + quarantined).
- io: every read and write. tables (Iceberg: create if missing, append, MERGE INTO, atomic
  overwrite, snapshot reads), raw_files (listing and line-numbered reads of raw-zone files),
  jdbc (PostgreSQL: where the database is, reads, all-or-nothing upserts), extracts (CSV/JSON
  files under a zone prefix). Each write is recorded in the run's result ("writes").
- one package per pipeline, fhir and climate, of the same shape: schemas (table names and
  schemas), rules (validation and metric rules as data), pure DataFrame -> DataFrame transforms
  (with_* adds columns, filter_* removes rows, to_* shapes a table's rows, count_* aggregates;
  no I/O) in one module per job stage (fhir: bronze, silver, gold; climate: ingest, metrics),
  and jobs (orchestration: read via io, transform, write via io).

Entry scripts (glue_scripts/<pipeline>/<job>.py) bind a job's ARGS and run(spark, args) and get
main() from runtime.session.entrypoint. Nothing here imports Pulumi, `lakehouse` or `components`.
"""
