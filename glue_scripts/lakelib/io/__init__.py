"""Every read and write of the jobs: Iceberg tables (tables), raw-zone files (raw_files),
PostgreSQL over JDBC (jdbc) and file extracts under a zone prefix (extracts). Each write is
recorded in the run's `Writes` (lakelib.runtime.job), which jobs report as their result's "writes"."""
