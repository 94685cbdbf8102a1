"""Operations and cost guardrails: supported Glue runtimes, bounded job time and size,
logs that exist (as each Glue version writes them) and expire, and production databases that
survive failures (checkov CKV_AWS_66/338, 133, 157, 293)."""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from . import types as T
from ._common import (
    Settings,
    first,
    fmt_number,
    is_map,
    known,
    number,
    resource_policy,
    stack_policy,
    truthy,
)

GLUE_VERSIONS = ["4.0", "5.0", "5.1"]
CONTINUOUS_LOGGING = "--enable-continuous-cloudwatch-log"
# Glue 4.0 and earlier: logs while the job runs only with continuous logging.
GLUE4_LOGGING_ARGUMENTS = (CONTINUOUS_LOGGING, "--enable-continuous-log-filter", "--continuous-log-logGroup")
# Glue 5.0 and later log in real time into <prefix>/error and <prefix>/output (AWS Glue developer
# guide, "Logging for AWS Glue jobs"); without a prefix, into /aws-glue/jobs/error and /output,
# shared by every job of the account.
REAL_TIME_LOGGING_FROM = (5, 0)
LOG_GROUP_PREFIX = "--custom-logGroup-prefix"
LOG_GROUP_PREFIX_MAX = 400
LOG_GROUP_PREFIX_PATTERN = re.compile(r"[^:*]*")
REAL_TIME_LOG_GROUPS = ("error", "output")


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


# --- job logging, by Glue version -------------------------------------------------------------

_UNKNOWN = object()  # a value not known yet (preview of a resource it depends on)


def _value(props: Mapping[str, Any], key: str) -> Any:
    """props[key], or _UNKNOWN while it is not known."""
    from pulumi_policy.proxy import UnknownValueError

    try:
        return props.get(key)
    except UnknownValueError:
        return _UNKNOWN


def _glue_version(props: Mapping[str, Any]) -> Optional[tuple[int, ...]]:
    """glueVersion as numbers ("5.0" -> (5, 0)); None when unset or not a version number."""
    value = known(props, "glueVersion")
    try:
        return tuple(int(part) for part in str(value).split(".")) if value is not None else None
    except ValueError:
        return None


def logs_in_real_time(props: Mapping[str, Any]) -> bool:
    """Glue 5.0 and later log in real time on their own; 4.0 and earlier (or unset) need continuous logging."""
    version = _glue_version(props)
    return version is not None and version >= REAL_TIME_LOGGING_FROM


def _check_continuous_logging(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if logs_in_real_time(args.props):
        return  # aws-glue-job-configure-custom-log-group-prefix judges its logging
    arguments = args.props.get("defaultArguments")
    value = arguments.get(CONTINUOUS_LOGGING) if is_map(arguments) else None
    if str(value).lower() != "true":
        shown = "unset" if value is None else repr(value)
        report(f"continuous logging is off ({CONTINUOUS_LOGGING} is {shown}); expected defaultArguments "
               f"{CONTINUOUS_LOGGING} = \"true\"")


glue_job_continuous_logging = resource_policy(
    name="aws-glue-job-enable-continuous-logging",
    description=("Glue 4.0 and earlier jobs (or jobs without glueVersion) stream driver and executor logs to "
                 "CloudWatch while they run; Glue 5.0 and later always do."),
    severity=Severity.LOW,
    remediation=f"Set default_arguments['{CONTINUOUS_LOGGING}'] = 'true' (the GlueJob component does for Glue 4.0).",
    types=[T.GLUE_JOB],
    check=_check_continuous_logging,
    tags=["operations", "glue", "logging"],
)


def _prefix_problem(name: str, version: str, prefix: Any, arguments: Any, created: set[str],
                    names_pending: bool) -> Optional[str]:
    """What is wrong with one Glue 5.0+ job's log group prefix; None when nothing is."""
    job = f"Glue {version} job '{name}'"
    if prefix in (None, ""):
        glue4 = sorted(k for k in GLUE4_LOGGING_ARGUMENTS if is_map(arguments) and known(arguments, k) is not None)
        hint = ""
        if glue4:
            hint = (f" ({', '.join(glue4)} are Glue 4.0 settings)" if len(glue4) > 1
                    else f" ({glue4[0]} is a Glue 4.0 setting)")
        return (f"{job} sets no {LOG_GROUP_PREFIX}, so it logs to the account-wide /aws-glue/jobs/error and "
                f"/aws-glue/jobs/output groups; expected defaultArguments {LOG_GROUP_PREFIX} = the job's own prefix, "
                f"with <prefix>/error and <prefix>/output log groups in the stack{hint}")
    prefix = str(prefix)
    if len(prefix) > LOG_GROUP_PREFIX_MAX or not LOG_GROUP_PREFIX_PATTERN.fullmatch(prefix):
        return (f"{job} sets {LOG_GROUP_PREFIX} {prefix!r}; expected at most {LOG_GROUP_PREFIX_MAX} characters "
                "matching [^:*]* (no ':' or '*')")
    wanted = [f"{prefix}/{stream}" for stream in REAL_TIME_LOG_GROUPS]
    missing = [g for g in wanted if g not in created]
    if not missing or names_pending:
        return None
    what = "neither" if len(missing) == len(wanted) else f"no {missing[0]}"
    return (f"{job} logs to {' and '.join(wanted)}, but the stack creates {what}; expected both as "
            "aws.cloudwatch.LogGroup resources, so they exist with the stack's KMS key and retention before Glue "
            "writes to them")


def _check_log_group_prefix(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    group_names = [_value(r.props, "name") for r in args.resources if r.resource_type == T.LOG_GROUP]
    created = {str(n) for n in group_names if isinstance(n, str) and n}
    names_pending = any(not (isinstance(n, str) and n) for n in group_names)  # unknown, or auto-named
    for job in args.resources:
        if job.resource_type != T.GLUE_JOB or not logs_in_real_time(job.props):
            continue
        if (first(known(job.props, "command")).get("name") or "glueetl") == "pythonshell":
            continue
        arguments = _value(job.props, "defaultArguments")
        prefix = _value(arguments, LOG_GROUP_PREFIX) if is_map(arguments) else None
        if arguments is _UNKNOWN or prefix is _UNKNOWN:
            continue  # known after apply: judged then
        problem = _prefix_problem(job.name, str(known(job.props, "glueVersion")), prefix, arguments, created,
                                  names_pending)
        if problem:
            report(problem, job.urn)


glue_job_log_group_prefix = stack_policy(
    name="aws-glue-job-configure-custom-log-group-prefix",
    description=("Glue 5.0 and later jobs log into their own <prefix>/error and <prefix>/output log groups "
                 "(--custom-logGroup-prefix), which the stack creates."),
    severity=Severity.LOW,
    remediation=(f"Set default_arguments['{LOG_GROUP_PREFIX}'] to the job's own prefix (/aws-glue/jobs/<job>) and "
                 "create <prefix>/error and <prefix>/output as aws.cloudwatch.LogGroup with the lake key and "
                 "retention (the GlueJob component does both for Glue 5.0 jobs)."),
    check=_check_log_group_prefix,
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
    glue_job_log_group_prefix,
    log_group_retention,
    rds_backup_retention,
    rds_multi_az,
    rds_deletion_protection,
]
