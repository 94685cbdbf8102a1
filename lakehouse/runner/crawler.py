"""The local stand-in of a pipeline's Glue crawler (pipelines/<name>.yaml `crawler:`), run before the
first job: Spark's schema inference over the raw prefixes (lakelib.io.crawled.infer_table), recorded
per table as the crawler would record it in the Data Catalog: a GetTable/GetPartitions-shaped JSON file
`<warehouse>/_catalog/<raw database>/<table>.json`, plus what this crawl found (`Crawl`: new partitions,
the change of the newest partition against the one before it, the change of the table's columns since
the previous crawl). The extract job reads the partitions from those files (`--inferred_catalog`) where
on AWS it asks the Data Catalog (`--raw_database`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..model.config import StackConfig
from ..model.pipelines import PipelineSpec
from . import executor

CATALOG_DIR = "_catalog"


@dataclass(frozen=True)
class Crawl:
    catalog_uri: str  # the folder of the records: the extract job's --inferred_catalog
    tables: list[dict]  # per table: what the run report shows


def catalog_folder(warehouse: Path, database: str) -> Path:
    return warehouse / CATALOG_DIR / database


def crawl(spark, cfg: StackConfig, pipeline: PipelineSpec, input_dir: Path, warehouse: Path) -> Crawl | None:
    """Crawl every prefix of `pipeline.crawler` (None when it declares no crawler)."""
    crawler = getattr(pipeline, "crawler", None)
    if crawler is None:
        return None
    executor._lakelib_importable()
    from lakelib.io.crawled import columns_to_struct, infer_table, partitions_of, schema_change

    raw_uri = executor.lake_location(cfg, input_dir, warehouse).zone_uris["raw"]
    database = cfg.database_name("raw")
    folder = catalog_folder(warehouse, database)
    folder.mkdir(parents=True, exist_ok=True)

    tables = []
    for prefix, table in zip(crawler.prefixes, crawler.tables()):
        path = folder / f"{table}.json"
        previous = json.loads(path.read_text()) if path.is_file() else None
        record = infer_table(spark, raw_uri, prefix, database, table, previous)
        parts = partitions_of(record)
        seen = {tuple(p["Values"]) for p in (previous or {}).get("Partitions", [])}
        new = [p.name for p in parts if p.values not in seen]
        # each new partition against the one before it (what a crawler logs as a schema change)
        changes = [{"partition": p.name, "previous_partition": parts[i - 1].name,
                    **schema_change(parts[i - 1].columns, p.columns)}
                   for i, p in enumerate(parts) if i and p.name in new]
        table_change = schema_change(columns_to_struct(previous["Table"]["StorageDescriptor"]["Columns"])
                                     if previous else None,
                                     columns_to_struct(record["Table"]["StorageDescriptor"]["Columns"]))
        record["Crawl"] = {
            "crawled_at": datetime.now(timezone.utc).isoformat(),
            "new_partitions": new,
            "partition_changes": changes,
            "change_detected": any(c["detected"] for c in changes) or table_change["detected"],
            "change_vs_previous_crawl": table_change,
        }
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        tmp.replace(path)  # a reader never sees half a record
        tables.append({
            "table": table, "database": database, "prefix": prefix, "record": str(path),
            "classification": record["Table"]["Parameters"]["classification"],
            "columns": [f"{c['Name']} {c['Type']}" for c in record["Table"]["StorageDescriptor"]["Columns"]],
            "partitions": [p.name for p in parts], **{k: record["Crawl"][k] for k in (
                "new_partitions", "partition_changes", "change_detected", "change_vs_previous_crawl")},
            "unclassified": record["Unclassified"],
        })
    return Crawl(catalog_uri=folder.resolve().as_uri() + "/", tables=tables)


def _what(c: dict) -> str:
    return "; ".join(x for x in (("added " + ", ".join(c["added"])) if c["added"] else "",
                                 ("removed " + ", ".join(c["removed"])) if c["removed"] else "",
                                 ("retyped " + ", ".join(c["retyped"])) if c["retyped"] else "") if x)


def describe(t: dict) -> str:
    """One console line per crawled table."""
    changed = [f"{c['partition']} vs {c['previous_partition']}: {_what(c)}" for c in t["partition_changes"]
               if c["detected"]]
    return (f"crawler (local schema inference): {t['database']}.{t['table']} ({t['classification']}, "
            f"{len(t['partitions'])} partitions, new: {', '.join(t['new_partitions']) or 'none'}): "
            + ("schema change detected: " + " | ".join(changed) if changed else "no schema change"))
