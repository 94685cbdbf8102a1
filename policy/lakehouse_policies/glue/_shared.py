"""What several Glue job policies need: Spark or Python shell, Glue version, logging."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from pulumi_policy import ResourceValidationArgs

from .._common import first, known

CONTINUOUS_LOGGING = "--enable-continuous-cloudwatch-log"

# Glue 4.0 and earlier: logs while the job runs only with continuous logging.
GLUE4_LOGGING_ARGUMENTS = (CONTINUOUS_LOGGING, "--enable-continuous-log-filter", "--continuous-log-logGroup")

# Glue 5.0 and later log in real time into <prefix>/error and <prefix>/output (AWS Glue developer
# guide, "Logging for AWS Glue jobs"); without a prefix, into /aws-glue/jobs/error and /output,
# shared by every job of the account.
REAL_TIME_LOGGING_FROM = (5, 0)


def is_spark_job(args: ResourceValidationArgs) -> bool:
    # Python shell jobs have their own runtimes (1.0/3.9) and size (maxCapacity): out of scope here.
    return (first(args.props.get("command")).get("name") or "glueetl") != "pythonshell"


def glue_version(props: Mapping[str, Any]) -> Optional[tuple[int, ...]]:
    """glueVersion as numbers ("5.0" -> (5, 0)); None when unset or not a version number."""
    value = known(props, "glueVersion")
    try:
        return tuple(int(part) for part in str(value).split(".")) if value is not None else None
    except ValueError:
        return None


def logs_in_real_time(props: Mapping[str, Any]) -> bool:
    """Glue 5.0 and later log in real time on their own; 4.0 and earlier (or unset) need continuous logging."""
    version = glue_version(props)
    return version is not None and version >= REAL_TIME_LOGGING_FROM
