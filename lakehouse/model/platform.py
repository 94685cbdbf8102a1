"""The arguments a Glue job script receives, derived from its declaration.

The Pulumi program binds them to S3 buckets and Glue databases; the local runner binds
the same function to folders and a local Iceberg catalog. Scripts only ever see these
names, so one script runs unchanged in both places.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .pipelines import LAKE_ZONES, JobSpec


@dataclass(frozen=True)
class LakeLocation:
    """Where one deployment's zones live."""

    catalog: str  # Spark catalog name holding the Iceberg tables: glue_catalog on AWS
    zone_uris: Mapping[str, str]  # zone -> base URI ending in "/" (s3://bucket/ or file:///dir/)
    databases: Mapping[str, str]  # lake zone -> database (namespace) name


def job_arguments(job: JobSpec, where: LakeLocation) -> dict[str, str]:
    """`--pipeline`, `--job`, `--catalog`, and per used zone `--<zone>_path` / `--<zone>_database`,
    then the job's own declared arguments (which may not redefine these)."""
    args = {"--pipeline": job.pipeline, "--job": job.name, "--catalog": where.catalog}
    for zone in job.zones():
        args[f"--{zone}_path"] = where.zone_uris[zone]
        if zone in LAKE_ZONES:
            args[f"--{zone}_database"] = where.databases[zone]
    clash = sorted(set(args) & set(job.arguments))
    if clash:
        raise ValueError(f"{job.key}: arguments {clash} are set by the platform; choose other names")
    args.update(job.arguments)
    return args
