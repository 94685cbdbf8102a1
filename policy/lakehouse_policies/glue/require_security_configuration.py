"""Every Glue job and crawler sets `securityConfiguration` (CKV_AWS_195)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, resource_policy


def _check_has_security_configuration(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if not args.props.get("securityConfiguration"):
        kind = "Glue job" if args.resource_type == T.GLUE_JOB else "Glue crawler"
        report(f"{kind} has no securityConfiguration; expected the name of a KMS security configuration")


POLICY = resource_policy(
    name="aws-glue-require-security-configuration",
    description="Every Glue job and crawler runs with a security configuration.",
    severity=Severity.HIGH,
    remediation=("Pass security_configuration=<the stack's aws.glue.SecurityConfiguration name> "
                 "to every job and crawler."),
    types=[T.GLUE_JOB, T.GLUE_CRAWLER],
    check=_check_has_security_configuration,
    frameworks=(),
    tags=["encryption", "glue"],
)
