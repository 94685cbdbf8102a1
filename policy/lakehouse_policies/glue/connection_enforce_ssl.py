"""JDBC connections set `JDBC_ENFORCE_SSL=true`."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, is_map, resource_policy


def _check_connection_ssl(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if (args.props.get("connectionType") or "JDBC") != "JDBC":
        return
    props = args.props.get("connectionProperties") or {}
    value = props.get("JDBC_ENFORCE_SSL") if is_map(props) else None
    if str(value).lower() != "true":
        shown = "unset" if value is None else repr(value)
        report(f"JDBC connection does not enforce SSL (JDBC_ENFORCE_SSL is {shown}); "
               "expected connectionProperties.JDBC_ENFORCE_SSL = \"true\"")


POLICY = resource_policy(
    name="aws-glue-connection-enforce-ssl",
    description="Glue JDBC connections require SSL.",
    severity=Severity.HIGH,
    remediation="Add JDBC_ENFORCE_SSL='true' to connection_properties of the aws.glue.Connection.",
    types=[T.GLUE_CONNECTION],
    check=_check_connection_ssl,
    frameworks=(),
    tags=["encryption", "glue", "network"],
)
