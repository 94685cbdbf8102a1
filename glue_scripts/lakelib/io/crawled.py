"""Raw tables a crawler catalogs: what a Glue crawler records about a raw prefix (one table per prefix,
one partition per batch folder, the columns of each), and reading a partition's files.

On AWS the Glue crawler writes that record into the Data Catalog; locally the runner plays the crawler
(`infer_table`: Spark's schema inference over the same files, lakehouse/runner/crawler.py) and writes
the same record, shaped like Glue's GetTable/GetPartitions answers, as a JSON file. The extract job gets
the partitions through `crawled_partitions`, the one function that differs between the two.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping
from urllib.parse import unquote, urlparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from .raw_files import RawFile, list_all_files, literal_path

CORRUPT = "_corrupt"
CLASSIFICATIONS = {".csv": "csv", ".json": "json", ".ndjson": "json", ".jsonl": "json"}


def classification(name: str) -> str | None:
    """What a crawler's built-in classifiers call a file, by its name (None: not data it catalogs)."""
    return next((c for ext, c in CLASSIFICATIONS.items() if name.lower().endswith(ext)), None)


@dataclass(frozen=True)
class Partition:
    """One batch folder of a crawled table: its partition values, location, classification, columns."""

    values: tuple[str, ...]
    location: str  # URI of the folder, ending in '/'
    classification: str
    columns: StructType

    @property
    def name(self) -> str:
        return "/".join(self.values) or "(table)"


def columns_to_struct(columns: Iterable[Mapping[str, str]]) -> StructType:
    """Glue `Columns` ([{Name, Type}], Hive type strings) -> a StructType."""
    from pyspark.sql.types import _parse_datatype_string

    return StructType([StructField(c["Name"], _parse_datatype_string(c["Type"]), True) for c in columns])


def struct_to_columns(schema: StructType) -> list[dict[str, str]]:
    return [{"Name": f.name, "Type": f.dataType.simpleString()} for f in schema.fields]


# --- the one difference between AWS and a laptop ---------------------------------------------------

def crawled_partitions(spark: SparkSession, table: str, *, crawler_database: str | None = None,
                       inferred_catalog: str | None = None) -> list[Partition]:
    """The partitions of crawler table `table`, in partition order: from the record the local runner's
    schema inference wrote under `inferred_catalog` (a folder) locally, from the Glue Data Catalog
    (GetTable + GetPartitions in `crawler_database`, what the crawler wrote) on AWS."""
    if inferred_catalog:  # the runner's records win: a local run may name the raw database too
        path = Path(unquote(urlparse(inferred_catalog).path) if "://" in inferred_catalog else inferred_catalog)
        file = path / f"{table}.json"
        if not file.is_file():
            raise FileNotFoundError(f"{file}: no crawl record of table {table!r} (locally the runner infers it "
                                    "before the first job: python -m lakehouse.runner run --pipeline ...)")
        record = json.loads(file.read_text())
    elif crawler_database:
        import boto3  # on Glue: the job's role may read the crawler's database and tables

        glue = boto3.client("glue")
        t = glue.get_table(DatabaseName=crawler_database, Name=table)["Table"]
        parts = [p for page in glue.get_paginator("get_partitions").paginate(DatabaseName=crawler_database,
                                                                             TableName=table)
                 for p in page["Partitions"]]
        record = {"Table": t, "Partitions": parts}
    else:
        raise ValueError(f"table {table!r}: neither --raw_database (AWS: the crawler's database) nor "
                         "--inferred_catalog (local) given")
    return partitions_of(record)


def partitions_of(record: Mapping) -> list[Partition]:
    """Partitions of a GetTable/GetPartitions-shaped record; a table without partitions is one."""
    t = record["Table"]
    cls = t.get("Parameters", {}).get("classification", "")
    parts = sorted(record.get("Partitions") or [], key=lambda p: tuple(p["Values"]))
    if not parts:
        sd = t["StorageDescriptor"]
        return [Partition((), _folder(sd["Location"]), cls, columns_to_struct(sd["Columns"]))]
    return [Partition(tuple(p["Values"]), _folder(p["StorageDescriptor"]["Location"]),
                      p.get("Parameters", {}).get("classification", cls),
                      columns_to_struct(p["StorageDescriptor"]["Columns"])) for p in parts]


def _folder(uri: str) -> str:
    return uri if uri.endswith("/") else uri + "/"


# --- the local crawler ---------------------------------------------------------------------------

def infer_table(spark: SparkSession, raw_path: str, prefix: str, database: str, table: str,
                previous: Mapping | None = None) -> dict:
    """What a crawler records for raw_path+prefix: a GetTable/GetPartitions-shaped dict. Partitions are
    the first-level folders (batch-0001/ ...), files directly under the prefix make the table's own;
    each partition's columns are Spark's inference over its files (CSV: header + inferSchema; JSON:
    every line), files of no known classification listed as `Unclassified`. A partition of the `previous`
    record whose files are unchanged keeps its columns (the crawler's "crawl new folders only")."""
    known = {tuple(p["Values"]): p for p in (previous or {}).get("Partitions", [])}
    files = list_all_files(spark, raw_path, prefix)
    groups: dict[tuple[str, ...], list[RawFile]] = {}
    unclassified = []
    for f in files:
        rel = f.source_file[len(prefix):]
        if classification(rel) is None:
            unclassified.append(f.source_file)
            continue
        groups.setdefault(tuple(rel.split("/")[:1]) if "/" in rel else (), []).append(f)
    partitions, merged = [], {}
    for values in sorted(groups):
        fs = groups[values]
        kinds = sorted({classification(f.source_file) for f in fs})
        before = known.get(values)
        if before is not None and before.get("Files") == [f.source_file for f in fs]:
            schema = columns_to_struct(before["StorageDescriptor"]["Columns"])
        else:
            schema = infer_files(spark, fs, kinds[0]) if len(kinds) == 1 else StructType([])
        for fld in schema.fields:
            merged[fld.name] = fld.dataType.simpleString()
        partitions.append({
            "Values": list(values),
            "StorageDescriptor": {"Location": raw_path + prefix + "".join(v + "/" for v in values),
                                  "Columns": struct_to_columns(schema)},
            "Parameters": {"classification": "+".join(kinds)},
            "Files": [f.source_file for f in fs],
        })
    cls = sorted({p["Parameters"]["classification"] for p in partitions})
    return {
        "Table": {"Name": table, "DatabaseName": database,
                  "StorageDescriptor": {"Location": raw_path + prefix,
                                        "Columns": [{"Name": n, "Type": t} for n, t in merged.items()]},
                  "PartitionKeys": [{"Name": "partition_0", "Type": "string"}] if any(
                      p["Values"] for p in partitions) else [],
                  "Parameters": {"classification": cls[0] if len(cls) == 1 else "+".join(cls)}},
        "Partitions": [p for p in partitions if p["Values"]],
        "Unclassified": unclassified,
    }


def infer_files(spark: SparkSession, files: list[RawFile], kind: str) -> StructType:
    """Spark's schema inference over `files` (every row: samplingRatio 1)."""
    paths = [literal_path(f.path) for f in files]
    if kind == "csv":
        return spark.read.options(header=True, inferSchema=True, samplingRatio=1.0).csv(paths).schema
    schema = spark.read.options(samplingRatio=1.0, mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT).json(
        paths).schema
    return StructType([f for f in schema.fields if f.name != CORRUPT])


def schema_change(previous: StructType | None, current: StructType) -> dict:
    """What changed between two partitions' columns (nested fields by dotted path): added, removed,
    retyped; `detected` when any did."""
    def leaves(s: StructType, prefix: str = "") -> dict[str, str]:
        out = {}
        for f in s.fields:
            if isinstance(f.dataType, StructType):
                out.update(leaves(f.dataType, f"{prefix}{f.name}."))
            else:
                out[prefix + f.name] = f.dataType.simpleString()
        return out

    if previous is None:
        return {"detected": False, "added": [], "removed": [], "retyped": []}
    a, b = leaves(previous), leaves(current)
    added = [f"{k} {v}" for k, v in b.items() if k not in a]
    removed = [k for k in a if k not in b]
    retyped = [f"{k}: {a[k]} -> {b[k]}" for k in a if k in b and a[k] != b[k]]
    return {"detected": bool(added or removed or retyped), "added": added, "removed": removed, "retyped": retyped}


# --- reading a partition -----------------------------------------------------------------------

def read_partition_file(spark: SparkSession, f: RawFile, kind: str, schema: StructType) -> DataFrame:
    """One file of a partition, read with `schema` (CSV: text columns in header order; JSON: the
    table's types) plus CORRUPT (the raw record when it does not fit) and `source_file`."""
    full = StructType([*schema.fields, StructField(CORRUPT, StringType())])
    reader = spark.read.schema(full).options(mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT)
    if kind == "csv":
        df = reader.options(header=True, enforceSchema=True).csv(literal_path(f.path))
    else:
        df = reader.json(literal_path(f.path))
    # Spark refuses queries over a raw file read that reference only the corrupt column: cache first
    return df.withColumn("source_file", F.lit(f.source_file)).cache()
