"""Glue 4.0 and earlier jobs (and jobs without `glueVersion`): `--enable-continuous-cloudwatch-log=true` in
`defaultArguments`. Glue 5.0 and later log in real time on their own:
`aws-glue-job-configure-custom-log-group-prefix` judges them.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, is_map, resource_policy
from ._shared import CONTINUOUS_LOGGING, logs_in_real_time


def _check_continuous_logging(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if logs_in_real_time(args.props):
        return  # aws-glue-job-configure-custom-log-group-prefix judges its logging
    arguments = args.props.get("defaultArguments")
    value = arguments.get(CONTINUOUS_LOGGING) if is_map(arguments) else None
    if str(value).lower() != "true":
        shown = "unset" if value is None else repr(value)
        report(f"continuous logging is off ({CONTINUOUS_LOGGING} is {shown}); expected defaultArguments "
               f"{CONTINUOUS_LOGGING} = \"true\"")


POLICY = resource_policy(
    name="aws-glue-job-enable-continuous-logging",
    description=("Glue 4.0 and earlier jobs (or jobs without glueVersion) stream driver and executor logs to "
                 "CloudWatch while they run; Glue 5.0 and later always do."),
    severity=Severity.LOW,
    remediation=f"Set default_arguments['{CONTINUOUS_LOGGING}'] = 'true' (the GlueJob component does for Glue 4.0).",
    types=[T.GLUE_JOB],
    check=_check_continuous_logging,
    frameworks=(),
    tags=["operations", "glue", "logging"],
)
