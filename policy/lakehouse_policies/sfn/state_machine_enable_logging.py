"""`loggingConfiguration` with `level` ALL or ERROR (not OFF, not FATAL alone) and a `logDestination` naming a
CloudWatch Logs log group (`arn:<partition>:logs:<region>:<account>:log-group:<name>:*`): without it, a failed
execution leaves no record outside the execution history (kept 90 days).
"""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, first, known, resource_policy
from .._stack import is_unknown

LEVELS = ("ALL", "ERROR")
LOG_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[^:*]+(:\*)?$")
EXPECTED = (f"expected loggingConfiguration with level {' or '.join(LEVELS)} and logDestination = a log group's ARN "
            "(arn:aws:logs:<region>:<account>:log-group:<name>:*)")


class _Props:
    """A nested block seen as a resource's props (for is_unknown)."""

    def __init__(self, props):
        self.props = props


def _check_logging(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    if is_unknown(args, "loggingConfiguration"):
        return
    config = first(known(args.props, "loggingConfiguration"))
    levels = list(settings["levels"])
    if not config:
        report(f"the state machine has no loggingConfiguration (no logs of failed executions); {EXPECTED}")
        return
    level = known(config, "level")
    if level not in levels:
        report(f"loggingConfiguration level is {level or 'unset (OFF)'}; {EXPECTED}")
    if is_unknown(_Props(config), "logDestination"):
        return  # a log group made in this stack, named by its ARN output: known after apply
    destination = known(config, "logDestination")
    if destination in (None, ""):
        report(f"loggingConfiguration has no logDestination; {EXPECTED}")
    elif isinstance(destination, str) and not LOG_GROUP_ARN.match(destination):
        report(f"loggingConfiguration logDestination {destination!r} is not a log group's ARN; {EXPECTED}")


POLICY = resource_policy(
    name="aws-sfn-state-machine-enable-logging",
    description="Step Functions state machines log to a CloudWatch Logs log group at level ALL or ERROR.",
    severity=Severity.MEDIUM,
    remediation="Set logging_configuration with level ALL (or ERROR) and log_destination "
                "'<log group ARN>:*' (PipelineStateMachine does, into its own KMS-encrypted log group).",
    types=[T.SFN_STATE_MACHINE],
    check=_check_logging,
    config={
        "levels": {
            "type": "array",
            "items": {"type": "string", "enum": ["ALL", "ERROR", "FATAL"]},
            "default": list(LEVELS),
            "description": "Logging levels accepted (FATAL logs only execution-level failures).",
        },
    },
    frameworks=("AWS FSBP StepFunctions.1",),
    tags=["logging", "sfn"],
)
