"""`deletionWindowInDays` at least the minimum (dev 7, prod 30; unset is AWS's 30 days).

The window is the time left to cancel a scheduled key deletion; once the key is gone, everything
it encrypted (the lake's objects, logs, the catalog, the database's secret) is unreadable for good.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, fmt_number, number, resource_policy

AWS_DEFAULT_WINDOW_DAYS = 30


def _check_deletion_window(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    minimum = number(settings["minimumDeletionWindowDays"])
    days = number(args.props.get("deletionWindowInDays"))
    effective = AWS_DEFAULT_WINDOW_DAYS if days is None else days
    if minimum is not None and effective < minimum:
        report(f"KMS key deletion window is {fmt_number(effective)} days; expected deletionWindowInDays of at "
               f"least {fmt_number(minimum)} days")


POLICY = resource_policy(
    name="aws-kms-key-configure-deletion-window",
    description="KMS keys wait at least the environment's minimum number of days before a scheduled deletion.",
    severity=Severity.MEDIUM,
    remediation="Set deletion_window_in_days (stack config kmsDeletionWindowDays) to at least the minimum "
                "(30 in prod, the longest AWS allows).",
    types=[T.KMS_KEY],
    check=_check_deletion_window,
    config={
        "minimumDeletionWindowDays": {
            "type": "integer",
            "minimum": 7,
            "maximum": 30,
            "default": 30,
            "description": "Shortest allowed KMS key deletion window in days (AWS allows 7-30).",
        },
    },
    frameworks=(),
    tags=["encryption", "kms", "resilience"],
)
