"""Every RDS instance of the stack is watched: a metric alarm on its `FreeStorageSpace` (comparison
LessThanThreshold / LessThanOrEqualToThreshold) and one on its `CPUUtilization` (GreaterThanThreshold /
GreaterThanOrEqualToThreshold), namespace AWS/RDS, dimension DBInstanceIdentifier = the instance's
identifier. (Where they send their notifications: aws-cloudwatch-metric-alarm-notify-stack-topic.)

A database that fills its disk stops taking the pipelines' writes (storage-full), and one pegged at
full CPU makes every JDBC job time out: both are seen coming on these two metrics.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, stack_policy
from .._stack import StackIndex, get

RDS_NAMESPACE = "AWS/RDS"
REQUIRED = {
    "FreeStorageSpace": ("free storage falling", ("LessThanThreshold", "LessThanOrEqualToThreshold")),
    "CPUUtilization": ("CPU rising", ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold")),
}


def _watched(alarm) -> set[tuple[str, str]]:
    """(instance identifier, metric) pairs an alarm watches in the right direction."""
    props = alarm.props
    out = set()
    comparison = get(props, "comparisonOperator")
    if get(props, "namespace") == RDS_NAMESPACE:
        ident, metric = get(props, "dimensions", "DBInstanceIdentifier"), get(props, "metricName")
        if metric in REQUIRED and comparison in REQUIRED[metric][1] and isinstance(ident, str):
            out.add((ident, metric))
    return out


def _check(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    s = StackIndex(args.resources)
    watched = set().union(*(_watched(a) for a in s.of(T.METRIC_ALARM)))
    for db in s.of(T.RDS_INSTANCE):
        ident = get(db.props, "identifier")
        if not isinstance(ident, str) or not ident:
            continue  # an auto-named instance: its identifier is unknown until it exists
        for metric, (what, comparisons) in REQUIRED.items():
            if (ident, metric) not in watched:
                report(f"RDS instance '{ident}' has no alarm on {what}; expected a MetricAlarm on {RDS_NAMESPACE} "
                       f"{metric} with dimensions DBInstanceIdentifier = '{ident}' and comparisonOperator "
                       f"{' | '.join(comparisons)}", db.urn)


POLICY = stack_policy(
    name="aws-cloudwatch-rds-instance-require-alarms",
    description="Every RDS instance of the stack has alarms on low free storage and high CPU.",
    severity=Severity.MEDIUM,
    remediation="LakeMonitoring creates <base>-rds-free-storage and <base>-rds-cpu for the database the stack "
                "creates (thresholds rdsFreeStorageAlarmGb and rdsCpuAlarmPercent).",
    check=_check,
    frameworks=(),
    tags=["monitoring", "rds"],
)
