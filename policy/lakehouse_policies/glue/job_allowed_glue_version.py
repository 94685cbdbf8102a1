"""`glueVersion` pinned and in 4.0, 5.0, 5.1 (Python shell jobs excepted)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, resource_policy
from ._shared import is_spark_job

GLUE_VERSIONS = ["4.0", "5.0", "5.1"]


def _check_glue_version(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    if not is_spark_job(args):
        return
    allowed = [str(v) for v in settings["allowedVersions"]]
    version = args.props.get("glueVersion")
    if version is None or str(version) not in allowed:
        shown = "unset (the service default changes over time)" if version is None else repr(str(version))
        report(f"glueVersion is {shown}; expected one of {', '.join(allowed)}")


POLICY = resource_policy(
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
    frameworks=("AWS FSBP Glue.4",),
    tags=["operations", "glue"],
)
