"""`tracingConfiguration.enabled` true: X-Ray traces show which task of an execution was slow or failed, and
the calls it made (Glue, SNS), across the services a pipeline run crosses.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, first, known, resource_policy
from .._stack import is_unknown


def _check_tracing(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if is_unknown(args, "tracingConfiguration"):
        return
    enabled = first(known(args.props, "tracingConfiguration")).get("enabled")
    if enabled is not True:
        report(f"X-Ray tracing is off (tracingConfiguration.enabled {enabled!r}); expected tracingConfiguration "
               "with enabled true")


POLICY = resource_policy(
    name="aws-sfn-state-machine-enable-tracing",
    description="Step Functions state machines trace their executions with AWS X-Ray.",
    severity=Severity.LOW,
    remediation="Set tracing_configuration={'enabled': True} and grant the role the X-Ray sending actions "
                "(PipelineStateMachine does).",
    types=[T.SFN_STATE_MACHINE],
    check=_check_tracing,
    frameworks=(),
    tags=["logging", "sfn"],
)
