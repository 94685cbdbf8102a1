"""File extracts under a zone prefix (e.g. the gold CSV/JSON extracts of the climate metrics):
the only module writing plain files. Each write is recorded in the run's `Writes` as
"<zone>:<prefix>"."""

from __future__ import annotations

from pyspark.sql import DataFrame

from ..runtime.job import Writes


def write_csv_and_json(df: DataFrame, base_uri: str, prefix: str, name: str, writes: Writes) -> list[str]:
    """`df` as one CSV file with a header and one JSON-lines file, replacing what was there:
    <base_uri><prefix><name>/csv/ and .../json/ (returned, in that order)."""
    folder = f"{base_uri}{prefix}{name}/"
    df.coalesce(1).write.mode("overwrite").option("header", "true").csv(folder + "csv/")
    df.coalesce(1).write.mode("overwrite").json(folder + "json/")
    writes.prefix(base_uri, prefix)
    return [folder + "csv/", folder + "json/"]
