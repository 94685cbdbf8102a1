"""Shared library of the lakehouse Glue scripts (shipped to Glue with --extra-py-files).

Modules:
- args: job argument parsing and validation (Glue getResolvedOptions or plain argv).
- session: the one place that builds Spark sessions (Glue or local Iceberg Hadoop catalog).
- tables: the one module doing Iceberg table I/O (create, append, MERGE, snapshot reads).
- raw_files: listing and reading raw-zone files (line-numbered).
- quarantine: the quarantine row shape and reasons.
- fhir: pure FHIR transforms (DataFrame -> DataFrame) and the FHIR jobs' orchestration.

Nothing here imports Pulumi or the `lakehouse` package.
"""
