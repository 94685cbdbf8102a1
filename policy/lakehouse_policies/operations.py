"""Operations and cost guardrails: supported Glue runtimes, bounded job time and size,
logs that exist and expire, and production databases that survive failures
(checkov CKV_AWS_66/338, 133, 157, 293)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, Severity

from . import types as T
from ._common import Settings, first, fmt_number, is_map, number, resource_policy, truthy

GLUE_VERSIONS = ["4.0", "5.0", "5.1"]
CONTINUOUS_LOGGING = "--enable-continuous-cloudwatch-log"


def _is_spark_job(args: ResourceValidationArgs) -> bool:
    # Python shell jobs have their own runtimes (1.0/3.9) and size (maxCapacity): out of scope here.
    return (first(args.props.get("command")).get("name") or "glueetl") != "pythonshell"


def _check_glue_version(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    if not _is_spark_job(args):
        return
    allowed = [str(v) for v in settings["allowedVersions"]]
    version = args.props.get("glueVersion")
    if version is None or str(version) not in allowed:
        shown = "unset (the service default changes over time)" if version is None else repr(str(version))
        report(f"glueVersion is {shown}; expected one of {', '.join(allowed)}")


glue_job_version = resource_policy(
    name="aws-glue-job-allowed-glue-version",
    description="Glue jobs pin a supported Glue version (4.0 or newer).",
    severity=Severity.MEDIUM,
    remediation="Set glue_version explicitly to a supported runtime (stack config glueVersion).",
    types=[T.GLUE_JOB],
    check=_check_glue_version,
    config={
        "allowedVersions": {
            "type": "array",
            "items": {"type": "string"},
            "default": GLUE_VERSIONS,
            "description": "Glue versions jobs may use.",
        },
    },
    tags=["operations", "glue"],
)


def _check_timeout(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    maximum = number(settings["maxTimeoutMinutes"])
    timeout = number(args.props.get("timeout"))
    if timeout is None or timeout <= 0:
        report(f"timeout is unset (Glue's default runs up to 48 hours); expected at most "
               f"{fmt_number(maximum)} minutes")
    elif maximum is not None and timeout > maximum:
        report(f"timeout is {fmt_number(timeout)} minutes; expected at most {fmt_number(maximum)} minutes")


glue_job_timeout = resource_policy(
    name="aws-glue-job-configure-timeout",
    description="Glue jobs set a timeout no longer than the environment's maximum.",
    severity=Severity.MEDIUM,
    remediation="Set timeout (minutes) through stack config timeoutMinutes or the job's settings.",
    types=[T.GLUE_JOB],
    check=_check_timeout,
    config={
        "maxTimeoutMinutes": {
            "type": "integer",
            "minimum": 1,
            "default": 480,
            "description": "Longest allowed job timeout in minutes.",
        },
    },
    tags=["operations", "cost", "glue"],
)


def _check_workers(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    if not _is_spark_job(args):
        return
    maximum = number(settings["maxWorkers"])
    workers = number(args.props.get("numberOfWorkers"))
    if workers is None:
        report(f"numberOfWorkers is unset; expected workerType and numberOfWorkers with at most "
               f"{fmt_number(maximum)} workers")
    elif maximum is not None and workers > maximum:
        report(f"numberOfWorkers is {fmt_number(workers)}; expected at most {fmt_number(maximum)} workers")


glue_job_workers = resource_policy(
    name="aws-glue-job-limit-workers",
    description="Glue jobs use at most the environment's maximum number of workers.",
    severity=Severity.MEDIUM,
    remediation="Lower numberOfWorkers (stack config or the job's settings) or raise maxWorkers in the "
                "stack's policy config after a cost review.",
    types=[T.GLUE_JOB],
    check=_check_workers,
    config={
        "maxWorkers": {
            "type": "integer",
            "minimum": 2,
            "default": 20,
            "description": "Most workers (the auto-scaling maximum) one job may request.",
        },
    },
    tags=["operations", "cost", "glue"],
)


def _check_continuous_logging(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    arguments = args.props.get("defaultArguments")
    value = arguments.get(CONTINUOUS_LOGGING) if is_map(arguments) else None
    if str(value).lower() != "true":
        shown = "unset" if value is None else repr(value)
        report(f"continuous logging is off ({CONTINUOUS_LOGGING} is {shown}); expected defaultArguments "
               f"{CONTINUOUS_LOGGING} = \"true\"")


glue_job_continuous_logging = resource_policy(
    name="aws-glue-job-enable-continuous-logging",
    description="Glue jobs stream driver and executor logs to CloudWatch while they run.",
    severity=Severity.LOW,
    remediation=f"Set default_arguments['{CONTINUOUS_LOGGING}'] = 'true' (the GlueJob component does).",
    types=[T.GLUE_JOB],
    check=_check_continuous_logging,
    tags=["operations", "glue", "logging"],
)


def _check_retention(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    minimum = number(settings["minimumRetentionDays"])
    days = number(args.props.get("retentionInDays"))
    if days is None or days <= 0:
        report(f"log retention is unset (logs never expire); expected retentionInDays of at least "
               f"{fmt_number(minimum)} days")
    elif minimum is not None and days < minimum:
        report(f"log retention is {fmt_number(days)} days; expected at least {fmt_number(minimum)} days")


log_group_retention = resource_policy(
    name="aws-cloudwatch-log-group-configure-retention",
    description="CloudWatch log groups expire logs, after at least the environment's minimum retention.",
    severity=Severity.LOW,
    remediation="Set retention_in_days (stack config logRetentionDays) to a CloudWatch value >= the minimum.",
    types=[T.LOG_GROUP],
    check=_check_retention,
    config={
        "minimumRetentionDays": {
            "type": "integer",
            "minimum": 1,
            "default": 7,
            "description": "Shortest allowed log retention in days.",
        },
    },
    tags=["operations", "logging"],
)


# --- production databases (advisory unless the stack's config makes them mandatory) -------------

def _check_backups(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    minimum = number(settings["minimumDays"])
    days = number(args.props.get("backupRetentionPeriod"))
    if days is None or (minimum is not None and days < minimum):
        report(f"backup retention is {fmt_number(days)} days; expected backupRetentionPeriod of at least "
               f"{fmt_number(minimum)} days")


rds_backup_retention = resource_policy(
    name="aws-rds-instance-configure-backup-retention",
    description="RDS instances keep automated backups for at least the minimum number of days.",
    severity=Severity.HIGH,
    remediation="Set backup_retention_period >= 7 (prod).",
    types=[T.RDS_INSTANCE],
    check=_check_backups,
    config={
        "minimumDays": {
            "type": "integer",
            "minimum": 1,
            "default": 7,
            "description": "Fewest days of automated backups.",
        },
    },
    enforcement=EnforcementLevel.ADVISORY,
    tags=["operations", "rds", "resilience"],
)


def _check_multi_az(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if not truthy(args.props.get("multiAz")):
        report("RDS instance runs in a single availability zone; expected multiAz: true")


rds_multi_az = resource_policy(
    name="aws-rds-instance-enable-multi-az",
    description="RDS instances run Multi-AZ, with a standby in a second availability zone.",
    severity=Severity.MEDIUM,
    remediation="Set multi_az=True (prod).",
    types=[T.RDS_INSTANCE],
    check=_check_multi_az,
    enforcement=EnforcementLevel.ADVISORY,
    tags=["operations", "rds", "resilience"],
)


def _check_deletion_protection(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if not truthy(args.props.get("deletionProtection")):
        report("RDS deletion protection is off; expected deletionProtection: true")


rds_deletion_protection = resource_policy(
    name="aws-rds-instance-enable-deletion-protection",
    description="RDS instances cannot be deleted without first turning deletion protection off.",
    severity=Severity.HIGH,
    remediation="Set deletion_protection=True (prod).",
    types=[T.RDS_INSTANCE],
    check=_check_deletion_protection,
    enforcement=EnforcementLevel.ADVISORY,
    tags=["operations", "rds", "resilience"],
)

POLICIES = [
    glue_job_version,
    glue_job_timeout,
    glue_job_workers,
    glue_job_continuous_logging,
    log_group_retention,
    rds_backup_retention,
    rds_multi_az,
    rds_deletion_protection,
]
