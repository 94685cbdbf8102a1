"""Glue 5.0 and later Spark jobs set `--custom-logGroup-prefix` in `defaultArguments` (at most 400
characters matching `[^:*]*`) and the stack creates both `<prefix>/error` and `<prefix>/output` as log
groups (the log group policies judge their key and retention); without a prefix a job logs to the
account-wide `/aws-glue/jobs/error` and `/aws-glue/jobs/output`.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, first, is_map, known, stack_policy
from ._shared import GLUE4_LOGGING_ARGUMENTS, logs_in_real_time

LOG_GROUP_PREFIX = "--custom-logGroup-prefix"
LOG_GROUP_PREFIX_MAX = 400
LOG_GROUP_PREFIX_PATTERN = re.compile(r"[^:*]*")
REAL_TIME_LOG_GROUPS = ("error", "output")
_UNKNOWN = object()  # a value not known yet (preview of a resource it depends on)


def _value(props: Mapping[str, Any], key: str) -> Any:
    """props[key], or _UNKNOWN while it is not known."""
    from pulumi_policy.proxy import UnknownValueError

    try:
        return props.get(key)
    except UnknownValueError:
        return _UNKNOWN


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


POLICY = stack_policy(
    name="aws-glue-job-configure-custom-log-group-prefix",
    description=("Glue 5.0 and later jobs log into their own <prefix>/error and <prefix>/output log groups "
                 "(--custom-logGroup-prefix), which the stack creates."),
    severity=Severity.LOW,
    remediation=(f"Set default_arguments['{LOG_GROUP_PREFIX}'] to the job's own prefix (/aws-glue/jobs/<job>) and "
                 "create <prefix>/error and <prefix>/output as aws.cloudwatch.LogGroup with the lake key and "
                 "retention (the GlueJob component does both for Glue 5.0 jobs)."),
    check=_check_log_group_prefix,
    frameworks=(),
    tags=["operations", "glue", "logging"],
)
