"""The arguments a Glue job receives: the platform's own, then those derived from its declaration.

`PLATFORM_ARGUMENTS` is the one table of what the platform sets on every job. From it come the
arguments the GlueJob component deploys (`platform_arguments`), the set a pipeline file may not
declare (`MANAGED_ARGUMENTS`) and what `lakehouse.ops verify` expects on a deployed job, so adding
a row reserves its key everywhere at once.

Logging depends on the Glue version (`logs_in_real_time`): Glue 5.0 logs in real time on its own,
into `<prefix>/error` (system, Spark, GlueLogger) and `<prefix>/output` (stdout, stderr), where
`--custom-logGroup-prefix` sets the prefix (AWS Glue developer guide, "Logging for AWS Glue jobs");
without it every job of the account shares /aws-glue/jobs/error and /aws-glue/jobs/output. Glue 4.0
logs while it runs only with continuous logging, into `--continuous-log-logGroup`. Each job gets
only its own version's arguments, the prefix or the group being the job's own name
(JobNames.log_group); `lakehouse.model.iam.job_log_groups` names the groups that follow.

`job_arguments` gives a script its zones: the Pulumi program binds it to S3 buckets and Glue
databases, the local runner to folders and a local Iceberg catalog. Scripts only ever see these
names, so one script runs unchanged in both places.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Optional

from .errors import Problems
from .packaging import CA_BUNDLE_FILE
from .quality import QUALITY_ARGUMENT, quality_argument
from .zones import LAKE_ZONES, ZONES

if TYPE_CHECKING:  # types only: the declaration parser imports this module
    from .config import JobSettings
    from .names import JobNames
    from .pipelines import JobSpec

ICEBERG_CATALOG = "glue_catalog"  # the Spark catalog name of the Iceberg tables on AWS
CONNECTION_ARGUMENT = "--connection_name"  # names the Glue connection a JDBC job uses (lakelib reads it)
EXTRA_FILES_ARGUMENT = "--extra-files"  # Glue copies these S3 objects into the job's working directory
CA_FILE_ARGUMENT = "--jdbc_ca_file"  # the CA bundle's file name there (lakelib.io.jdbc: sslmode=verify-full)
METRICS_NAMESPACE_ARGUMENT = "--metrics_namespace"  # lakelib.runtime.metrics publishes there when set
METRICS_STACK_ARGUMENT = "--metrics_stack"  # the Stack dimension of the job's custom metrics
LOG_GROUP_PREFIX_ARGUMENT = "--custom-logGroup-prefix"  # Glue 5.0: <prefix>/error and <prefix>/output
REAL_TIME_LOGGING_FROM = (5, 0)  # the first Glue version that logs in real time without continuous logging
REAL_TIME_LOG_GROUPS = ("error", "output")  # what Glue 5.0 appends to the prefix: <prefix>/error, <prefix>/output


def logs_in_real_time(glue_version: str) -> bool:
    """Whether Glue `glue_version` logs in real time on its own (5.0 and later), into the groups
    --custom-logGroup-prefix names, rather than through continuous logging (4.0 and earlier)."""
    return tuple(int(part) for part in glue_version.split(".")) >= REAL_TIME_LOGGING_FROM


@dataclass(frozen=True)
class JobPlatform:
    """What the platform knows about one deployed job, from which its platform arguments follow."""

    job: JobSpec
    settings: JobSettings
    names: JobNames
    buckets: Mapping[str, str]  # bucket role -> bucket name
    library_uri: str  # the lakelib zip (--extra-py-files)
    connection_name: Optional[str] = None  # the stack's Glue JDBC connection, for connection: true jobs
    ca_bundle_uri: Optional[str] = None  # s3://<scripts bucket>/certs/<hash>/rds-ca-bundle.pem


@dataclass(frozen=True)
class PlatformArgument:
    key: str
    instead: str  # what a user changes instead of declaring the key (quoted in errors)
    value: Callable[[JobPlatform], Optional[str]]  # None: not set on this job


def bool_arg(value: bool) -> str:
    return "true" if value else "false"


def iceberg_conf(warehouse: str, catalog: str = ICEBERG_CATALOG) -> str:
    """The one --conf value that makes `catalog` an Iceberg catalog backed by the Glue Data Catalog.

    Glue 5 takes catalog settings only through --conf (not spark.conf.set in the script).
    Tables resolve to their database's LocationUri (the zone bucket), so the warehouse is
    only Iceberg's fallback location for databases without one.
    """
    return " --conf ".join([
        "spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        f"spark.sql.catalog.{catalog}=org.apache.iceberg.spark.SparkCatalog",
        f"spark.sql.catalog.{catalog}.warehouse={warehouse}",
        f"spark.sql.catalog.{catalog}.catalog-impl=org.apache.iceberg.aws.glue.GlueCatalog",
        f"spark.sql.catalog.{catalog}.io-impl=org.apache.iceberg.aws.s3.S3FileIO",
    ])


def warehouse_zone(job: JobSpec) -> str:
    """The lake zone whose bucket is the job's Iceberg warehouse: the first it writes, else reads."""
    for accesses in (job.writes, job.reads):
        for zone in LAKE_ZONES:
            if any(a.zone == zone for a in accesses):
                return zone
    return LAKE_ZONES[0]


def _glue4(value: Callable[[JobPlatform], str]) -> Callable[[JobPlatform], Optional[str]]:
    """A Glue 4.0 (continuous logging) argument: unset on a job that logs in real time."""
    return lambda p: None if logs_in_real_time(p.settings.glue_version) else value(p)


def _log_group_prefix(p: JobPlatform) -> Optional[str]:
    return p.names.log_group if logs_in_real_time(p.settings.glue_version) else None


def _ca_bundle_uri(p: JobPlatform) -> Optional[str]:
    return p.ca_bundle_uri if p.job.connection else None


def _ca_file(p: JobPlatform) -> Optional[str]:
    """The bundle's name in the working directory: --extra-files keeps an object's file name."""
    return CA_BUNDLE_FILE if p.job.connection and p.ca_bundle_uri else None


def _spark_ui_path(p: JobPlatform) -> Optional[str]:
    return f"s3://{p.buckets['logs']}/{p.names.spark_ui_prefix}" if p.settings.spark_ui else None


PLATFORM_ARGUMENTS: tuple[PlatformArgument, ...] = (
    PlatformArgument("--job-language", "always python", lambda p: "python"),
    PlatformArgument("--enable-glue-datacatalog", "always on", lambda p: "true"),
    # Logging: Glue 4.0 streams through continuous logging into the job's own group; Glue 5.0 logs in
    # real time into <the job's own prefix>/error and /output.
    PlatformArgument("--enable-continuous-cloudwatch-log", "always on for Glue 4.0 (Glue 5.0 logs in real time)",
                     _glue4(lambda p: "true")),
    PlatformArgument("--enable-continuous-log-filter", "always on for Glue 4.0 (Glue 5.0 logs in real time)",
                     _glue4(lambda p: "true")),
    PlatformArgument("--continuous-log-logGroup", "the job's own KMS-encrypted log group (Glue 4.0)",
                     _glue4(lambda p: p.names.log_group)),
    PlatformArgument(LOG_GROUP_PREFIX_ARGUMENT, "the prefix of the job's own KMS-encrypted log groups (Glue 5.0)",
                     _log_group_prefix),
    PlatformArgument("--enable-metrics", "always on", lambda p: "true"),
    PlatformArgument("--enable-observability-metrics", "always on", lambda p: "true"),
    # The run's own CloudWatch metrics (RunStarted, row counts: lakelib.runtime.metrics), in the stack's
    # namespace, the one its role may publish to besides Glue's (lakehouse.model.iam)
    PlatformArgument(METRICS_NAMESPACE_ARGUMENT, "the stack's custom-metrics namespace, set by the platform",
                     lambda p: p.names.metrics_namespace or None),
    PlatformArgument(METRICS_STACK_ARGUMENT, "the stack's name (the Stack dimension of the job's metrics)",
                     lambda p: p.names.metrics_stack or None),
    PlatformArgument("--enable-spark-ui", "stack config sparkUi", lambda p: bool_arg(p.settings.spark_ui)),
    PlatformArgument("--spark-event-logs-path", "the logs bucket, set by the platform", _spark_ui_path),
    PlatformArgument("--TempDir", "the temp bucket, set by the platform",
                     lambda p: f"s3://{p.buckets['temp']}/{p.names.temp_prefix}"),
    # Jobs track their increments in the lake (ingested files, snapshot ids), not in bookmarks.
    PlatformArgument("--job-bookmark-option", "set by the platform (jobs track increments in the lake)",
                     lambda p: "job-bookmark-disable"),
    PlatformArgument("--enable-auto-scaling", "stack config autoScaling or the job's settings.autoScaling",
                     lambda p: bool_arg(p.settings.auto_scaling)),
    PlatformArgument("--datalake-formats", "always iceberg", lambda p: "iceberg"),
    PlatformArgument("--conf", "the Iceberg Glue Catalog configuration, set by the platform",
                     lambda p: iceberg_conf(f"s3://{p.buckets[warehouse_zone(p.job)]}/")),
    PlatformArgument("--extra-py-files", "the packaged glue_scripts/lakelib library", lambda p: p.library_uri),
    PlatformArgument(CONNECTION_ARGUMENT, "the stack's Glue JDBC connection, for jobs declaring connection: true",
                     lambda p: p.connection_name),
    # The database's TLS certificate is verified (sslmode=verify-full) against the RDS CA bundle: Glue
    # copies it into the working directory of the driver and of every executor (Spark's JDBC writes
    # connect from the executors), and lakelib opens it by its file name. The platform's own
    # --extra-files, a certificate file and no code, is the only one a job gets (EXTERNAL_CODE_ARGUMENTS).
    PlatformArgument(EXTRA_FILES_ARGUMENT, "the RDS CA bundle, shipped by the platform to jobs declaring "
                     "connection: true", _ca_bundle_uri),
    PlatformArgument(CA_FILE_ARGUMENT, "the RDS CA bundle's file name, for jobs declaring connection: true",
                     _ca_file),
)
# Never set by the platform, never to be declared: Glue's own encryption flag would bypass the
# job's security configuration.
RESERVED_ARGUMENTS = {"--encryption-type": "the job's security configuration (SSE-KMS)"}
# Set by job_arguments from the declaration itself.
DERIVED_ARGUMENTS = {
    "--pipeline": "derived from the declaration",
    "--job": "derived from the declaration",
    "--catalog": "derived from the stack",
    **{f"--{zone}_path": "derived from the job's reads/writes" for zone in ZONES},
    **{f"--{zone}_database": "derived from the job's reads/writes" for zone in ZONES},
    "--quality_rules": "derived from the job's quality rules",
}
# Glue arguments that load code from outside the repository into a job (AWS Glue developer guide,
# "Using job parameters in AWS Glue jobs"): never declared, never deployed but for the platform's own
# (PLATFORM_ARGUMENTS: --extra-files with the RDS CA bundle of glue_scripts/certs/). A job runs its
# script and lakelib (--extra-py-files, set by the platform), both built from glue_scripts/ and reviewed here.
EXTERNAL_CODE_ARGUMENTS = {
    "--extra-jars": "adds Java jars to the job's classpath",
    "--extra-files": "copies files into the job's working directory",
    "--additional-python-modules": "installs Python packages (from PyPI or S3) when the job starts",
    "--python-modules-installer-option": "passes options to pip (e.g. another package index)",
    "--user-jars-first": "puts extra jars before Glue's own on the classpath",
    "--scriptLocation": "replaces the job's script",
}
EXTERNAL_CODE_ADVICE = "jobs run only code under glue_scripts/ (lakelib ships with every job)"


def external_code_argument(key: str) -> str | None:
    """What `key` would load from outside the repository (Glue compares names exactly; any case is
    refused all the same), or None for an ordinary argument."""
    return next((what for name, what in EXTERNAL_CODE_ARGUMENTS.items() if name.lower() == key.lower()), None)


def external_code_problem(key: str) -> str:
    return f"no argument that loads code from outside the repository ({key} {external_code_argument(key)}); " \
           + EXTERNAL_CODE_ADVICE


# Every argument a declaration may not set, with what to change instead.
MANAGED_ARGUMENTS: dict[str, str] = {
    **{a.key: a.instead for a in PLATFORM_ARGUMENTS}, **RESERVED_ARGUMENTS, **DERIVED_ARGUMENTS,
}


def platform_arguments(job: JobSpec, settings: JobSettings, names: JobNames, buckets: Mapping[str, str],
                       library_uri: str, connection_name: Optional[str] = None,
                       ca_bundle_uri: Optional[str] = None) -> dict[str, str]:
    """The arguments the platform sets on this job, from PLATFORM_ARGUMENTS."""
    p = JobPlatform(job, settings, names, buckets, library_uri, connection_name, ca_bundle_uri)
    values = {a.key: a.value(p) for a in PLATFORM_ARGUMENTS}
    return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class LakeLocation:
    """Where one deployment's zones live."""

    catalog: str  # Spark catalog name holding the Iceberg tables: glue_catalog on AWS
    zone_uris: Mapping[str, str]  # zone -> base URI ending in "/" (s3://bucket/ or file:///dir/)
    databases: Mapping[str, str]  # lake zone -> database (namespace) name


def job_arguments(job: JobSpec, where: LakeLocation) -> dict[str, str]:
    """`--pipeline`, `--job`, `--catalog`, per used zone `--<zone>_path` / `--<zone>_database`, the
    job's data-quality rules (`--quality_rules`, when it declares any), then the job's own declared
    arguments (which may not redefine these)."""
    args = {"--pipeline": job.pipeline, "--job": job.name, "--catalog": where.catalog}
    for zone in job.zones():
        args[f"--{zone}_path"] = where.zone_uris[zone]
        if zone in LAKE_ZONES:
            args[f"--{zone}_database"] = where.databases[zone]
        elif zone in where.databases and any(a.zone == zone and a.tables for a in job.reads):
            args[f"--{zone}_database"] = where.databases[zone]  # a crawler's tables over raw files
    if job.quality:  # the same rules as the tables' DataQualityRulesets, evaluated by the job itself
        args[QUALITY_ARGUMENT] = quality_argument(job.quality)
    clash = sorted(set(args) & set(job.arguments))
    if clash:
        raise ValueError(f"{job.key}: arguments {clash} are set by the platform; choose other names")
    args.update(job.arguments)
    return args


def aws_lake_location(buckets: Mapping[str, str], databases: Mapping[str, str]) -> LakeLocation:
    """The zones of a deployed stack: its zone buckets and Glue databases, Iceberg in glue_catalog."""
    return LakeLocation(catalog=ICEBERG_CATALOG, zone_uris={zone: f"s3://{buckets[zone]}/" for zone in ZONES},
                        databases=dict(databases))


def declared_argument_problem(key: str) -> Optional[str]:
    """Why a declaration may not set `key` (what the parser and deployed_arguments report), or None.
    An argument that loads outside code is refused as such, even where the platform sets it itself."""
    if external_code_argument(key):
        return external_code_problem(key)
    if key in MANAGED_ARGUMENTS:
        return f"no platform-managed argument ({key} is {MANAGED_ARGUMENTS[key]})"
    return None


def deployed_arguments(job: JobSpec, settings: JobSettings, names: JobNames, buckets: Mapping[str, str],
                       databases: Mapping[str, str], library_uri: str,
                       connection_name: Optional[str] = None, ca_bundle_uri: Optional[str] = None) -> dict[str, str]:
    """Every default argument of the deployed job: the platform's, then job_arguments on AWS.

    A declared argument may never replace a platform one: the declaration parser refuses them,
    and this refuses them in a JobSpec built in code too. A job on a connection gets the RDS CA
    bundle (`ca_bundle_uri`) with it: without one it is refused.
    """
    problems = Problems()
    for key in sorted(job.arguments):
        why = declared_argument_problem(key)
        if why:
            problems.add(f"{job.key}: arguments.{key}", job.arguments[key], why)
    if connection_name and not ca_bundle_uri:
        problems.add(f"{job.key}: ca_bundle_uri", ca_bundle_uri,
                     "the RDS CA bundle's S3 URI for a job on a connection (its database's certificate is verified)")
    problems.raise_if_any()
    platform = platform_arguments(job, settings, names, buckets, library_uri, connection_name, ca_bundle_uri)
    return {**platform, **job_arguments(job, aws_lake_location(buckets, databases))}
