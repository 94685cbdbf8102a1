"""The one module doing Iceberg table I/O: create if missing, read (whole, as of a snapshot,
or the rows appended between two snapshots), append, MERGE INTO, atomic overwrite.

Tables are addressed `<catalog>.<database>.<table>`; the catalog (glue_catalog on AWS, the
local Hadoop catalog `local` on a laptop) is chosen by the `--catalog` argument alone.
On Glue the table lands at the database's LocationUri + table name (the GlueCatalog
default), which is `s3://<zone-bucket>/<table>/` by the platform's layout.
Every write (append, overwrite, MERGE, create) is recorded in the run's `Writes`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Iterable, Mapping

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, StructType

from ..runtime.args import identifier
from ..runtime.job import Writes

COMMIT_PROPERTY = "glue-lakehouse.commit-id"
RUN_PROPERTY = "glue-lakehouse.run-id"
DEFAULT_PROPERTIES = {"format-version": "2", "write.parquet.compression-codec": "zstd"}


def _path(path: str) -> str:
    return ".".join(f"`{identifier('column', p)}`" for p in path.split("."))


def _tblprops(props: Mapping[str, str]) -> str:
    return ", ".join(f"'{k}'='{v}'" for k, v in props.items())


@dataclass(frozen=True)
class Table:
    catalog: str
    database: str
    name: str

    def __post_init__(self) -> None:
        identifier("catalog", self.catalog)
        identifier("database", self.database)
        identifier("table", self.name)

    @property
    def sql(self) -> str:
        return f"`{self.catalog}`.`{self.database}`.`{self.name}`"

    @property
    def qualified(self) -> str:  # the DataFrame API form
        return f"{self.catalog}.{self.database}.{self.name}"

    def meta(self, kind: str) -> str:  # metadata tables: snapshots, refs, history ...
        return f"{self.sql}.`{kind}`"


class Lake:
    """Table I/O for one job run. Every write carries snapshot properties naming the run and
    is recorded in `writes` (the run's record: JobRun.writes)."""

    def __init__(self, spark: SparkSession, catalog: str, run_id: str, writes: Writes | None = None):
        self.spark = spark
        self.catalog = identifier("catalog", catalog)
        self.run_id = run_id
        self.writes = writes if writes is not None else Writes()

    def table(self, database: str, name: str) -> Table:
        return Table(self.catalog, database, name)

    # --- DDL ---------------------------------------------------------------------------
    def ensure_namespace(self, database: str) -> None:
        self.spark.sql(f"CREATE NAMESPACE IF NOT EXISTS `{self.catalog}`.`{identifier('database', database)}`")

    def ensure_table(self, table: Table, schema: StructType | str,
                     properties: Mapping[str, str] | None = None) -> None:
        """CREATE NAMESPACE/TABLE IF NOT EXISTS; never drops or replaces anything. `schema` is a
        StructType or a DDL column list ("a string, b bigint"). Recorded in `writes`: a job that may
        create a table needs its role to allow writing it, as a job that commits to it does.
        The columns of a StructType schema that a table made by an older release lacks are added
        (nullable, at the end: Iceberg schema evolution, no data rewritten)."""
        self.ensure_namespace(table.database)
        self._wrote(table)
        columns = schema if isinstance(schema, str) else ", ".join(
            f"`{f.name}` {f.dataType.simpleString()}" for f in schema.fields)
        props = {**DEFAULT_PROPERTIES, **(properties or {})}
        self.spark.sql(f"CREATE TABLE IF NOT EXISTS {table.sql} ({columns}) USING iceberg "
                       f"TBLPROPERTIES ({_tblprops(props)})")
        if not isinstance(schema, str):
            have = {c.lower() for c in self.spark.table(table.qualified).columns}
            missing = [f for f in schema.fields if f.name.lower() not in have]
            if missing:
                added = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in missing)
                self.spark.sql(f"ALTER TABLE {table.sql} ADD COLUMNS ({added})")
        if properties:  # a table made by an older release: bring the asked-for properties up to date
            current = self.properties(table)
            stale = {k: v for k, v in properties.items() if current.get(k) != v}
            if stale:
                self.spark.sql(f"ALTER TABLE {table.sql} SET TBLPROPERTIES ({_tblprops(stale)})")

    def add_column(self, table: Table, path: str, data_type: DataType) -> None:
        """ALTER TABLE ADD COLUMN (a nested field by dotted path): Iceberg schema evolution, no data
        rewritten; the rows written before read it as null."""
        self._wrote(table)
        self.spark.sql(f"ALTER TABLE {table.sql} ADD COLUMN {_path(path)} {data_type.simpleString()}")

    def widen_column(self, table: Table, path: str, data_type: DataType) -> None:
        """ALTER TABLE ALTER COLUMN ... TYPE: a widening Iceberg allows (int -> bigint, float -> double,
        decimal precision); Iceberg refuses any other change."""
        self._wrote(table)
        self.spark.sql(f"ALTER TABLE {table.sql} ALTER COLUMN {_path(path)} TYPE {data_type.simpleString()}")

    def properties(self, table: Table) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self.spark.sql(f"SHOW TBLPROPERTIES {table.sql}").collect()}

    # --- reads -------------------------------------------------------------------------
    def exists(self, table: Table) -> bool:
        return self.spark.catalog.tableExists(table.qualified)

    def _reader(self):
        # Iceberg's vectorized (Arrow) Parquet reader corrupted JVM native memory (SIGSEGV in
        # SymbolTable/Klass code a few seconds later) when silver read ~100k bronze rows of raw
        # JSON on local Spark 3.5.4 + Iceberg 1.7.1; the row reader is stable and fast enough here.
        return self.spark.read.format("iceberg").option("vectorization-enabled", "false")

    def read(self, table: Table, snapshot_id: int | None = None) -> DataFrame:
        reader = self._reader()
        if snapshot_id is not None:
            reader = reader.option("snapshot-id", str(snapshot_id))
        return reader.load(table.qualified)

    def read_appended(self, table: Table, after: int | None, upto: int) -> DataFrame:
        """Rows appended after snapshot `after` (exclusive) up to `upto` (inclusive); the
        whole table as of `upto` when `after` is None. Iceberg's incremental append scan."""
        if after is None:
            return self.read(table, upto)
        return (
            self._reader()
            .option("start-snapshot-id", str(after))
            .option("end-snapshot-id", str(upto))
            .load(table.qualified)
        )

    def current_snapshot_id(self, table: Table) -> int | None:
        row = self.spark.sql(f"SELECT snapshot_id FROM {table.meta('refs')} WHERE name = 'main'").first()
        return None if row is None else int(row[0])

    def current_summary(self, table: Table) -> dict[str, str]:
        """The summary of the table's current snapshot (its properties included); {} before the first."""
        row = self.spark.sql(
            f"SELECT s.summary FROM {table.meta('snapshots')} s JOIN {table.meta('refs')} r "
            "ON s.snapshot_id = r.snapshot_id WHERE r.name = 'main'"
        ).first()
        return dict(row[0]) if row is not None else {}

    def _summary(self, table: Table, commit_id: str) -> dict[str, str]:
        row = self.spark.sql(
            f"SELECT summary FROM {table.meta('snapshots')} WHERE summary['{COMMIT_PROPERTY}'] = '{commit_id}'"
        ).first()
        return dict(row[0]) if row is not None else {}

    # --- writes ------------------------------------------------------------------------
    def _writer(self, df: DataFrame, table: Table, commit_id: str, properties: Mapping[str, str] | None = None):
        writer = (
            df.writeTo(table.qualified)
            .option(f"snapshot-property.{COMMIT_PROPERTY}", commit_id)
            .option(f"snapshot-property.{RUN_PROPERTY}", self.run_id)
        )
        for k, v in (properties or {}).items():
            writer = writer.option(f"snapshot-property.{k}", v)
        return writer

    def _wrote(self, table: Table) -> None:
        self.writes.table(table.database, table.name)

    def append(self, df: DataFrame, table: Table) -> int:
        """One atomic append; returns the records it added (from the snapshot summary)."""
        commit_id = uuid.uuid4().hex
        self._writer(df, table, commit_id).append()
        self._wrote(table)
        return int(self._summary(table, commit_id).get("added-records", 0))

    def append_unstored(self, df: DataFrame, table: Table, key: Iterable[str] = (),
                        source_files: Iterable[str] = ()) -> None:
        """Append `df` in the table's column order (the rows may carry extra working columns).
        With a `key`, rows of `source_files` already stored under that key are left out: a run
        killed after this append but before its ingested-files log re-reads the same files, and
        must not store their rows twice."""
        key = list(key)
        columns = self.read(table).columns
        rows = df.select(*columns)
        if key:
            stored = self.read(table).where(F.col("source_file").isin(list(source_files))).select(*key).distinct()
            rows = rows.join(stored, key, "left_anti").select(*columns)
        self.append(rows, table)

    def overwrite(self, df: DataFrame, table: Table, properties: Mapping[str, str] | None = None) -> int:
        """Replace every row in one atomic snapshot, which carries `properties` in its summary too
        (committed with the rows, so they describe exactly those rows); returns the records written."""
        commit_id = uuid.uuid4().hex
        self._writer(df, table, commit_id, properties).overwrite(F.lit(True))
        self._wrote(table)
        return int(self._summary(table, commit_id).get("added-records", 0))

    def replace_all(self, df: DataFrame, table: Table) -> None:
        """Make the table hold exactly `df`: created from it (namespace too) when missing,
        otherwise overwritten in one atomic snapshot (a full refresh)."""
        if self.exists(table):
            self.overwrite(df, table)
            return
        self.ensure_namespace(table.database)
        df.writeTo(table.qualified).using("iceberg").create()
        self._wrote(table)

    def _merge(self, df: DataFrame, table: Table, on: str, clauses: str) -> None:
        view = f"merge_source_{uuid.uuid4().hex}"
        df.createOrReplaceTempView(view)
        try:
            self.spark.sql(f"MERGE INTO {table.sql} t USING {view} s ON {on} {clauses}")
        finally:
            self.spark.catalog.dropTempView(view)
        self._wrote(table)

    def delete_where_in(self, table: Table, column: str, values: Iterable[str]) -> None:
        """DELETE the rows whose `column` is one of `values` (a retry removing what a run that died
        before its log commit left behind)."""
        values = list(values)
        if not values:
            return
        listed = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
        self.spark.sql(f"DELETE FROM {table.sql} WHERE `{identifier('column', column)}` IN ({listed})")
        self._wrote(table)

    def insert_missing(self, df: DataFrame, table: Table, keys: Iterable[str]) -> None:
        """Insert the rows whose keys are not in the table yet (an idempotent append:
        Spark plans an insert-only MERGE as an anti-join + append)."""
        on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
        self._merge(df, table, on, "WHEN NOT MATCHED THEN INSERT *")

    def upsert(self, df: DataFrame, table: Table, key: str, update_when: str) -> None:
        """MERGE INTO by `key`: insert new keys, replace a row when `update_when` (SQL over the
        aliases s = incoming, t = stored) holds. `df` has one row per key and the table's columns.
        Into a table with no snapshot yet (the first load) it is a plain append: the same rows,
        without a join against nothing."""
        if self.current_snapshot_id(table) is None:
            self.append(df, table)
            return
        self._merge(
            df, table, f"t.`{key}` = s.`{key}`",
            f"WHEN MATCHED AND ({update_when}) THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
        )

    # --- maintenance -------------------------------------------------------------------
    def compact(self, table: Table, delete_file_threshold: int) -> dict[str, int]:
        """Iceberg's bin-pack rewrite_data_files: rewrites the data files that carry at least
        `delete_file_threshold` delete files (merge-on-read leaves one per MERGE that touches a
        file), and small files once there are that many. When it rewrote any,
        rewrite_position_delete_files then drops the delete entries that point at no live file
        (Iceberg 1.7.1's own `remove-dangling-deletes` left them in place here). Commits that
        change no row and, unlike the writes above, carry no run-id snapshot property and are not
        recorded in `writes`; only planning when no file qualifies. Returns both procedures' counts."""
        name = f"{table.database}.{table.name}"
        data = self._call("rewrite_data_files", name, {"delete-file-threshold": str(delete_file_threshold),
                                                       "min-input-files": str(delete_file_threshold)})
        deletes = {}
        if data["rewritten_data_files_count"]:
            deletes = self._call("rewrite_position_delete_files", name, {"rewrite-all": "true"})
        return {**data, **{k: v for k, v in deletes.items() if "delete_files" in k}}

    def _call(self, procedure: str, table_name: str, options: Mapping[str, str]) -> dict[str, int]:
        opts = ", ".join(f"'{k}', '{v}'" for k, v in options.items())
        row = self.spark.sql(f"CALL `{self.catalog}`.system.{procedure}(table => '{table_name}', "
                             f"options => map({opts}))").first()
        return {k: int(v) for k, v in row.asDict().items()}
