"""A SCHEDULED trigger has a `schedule` that is a valid AWS cron expression (six fields, one of day-of-month
and day-of-week `?`, values in range); no other trigger type carries a `schedule` (Glue ignores it there).

The grammar is lakehouse.model.schedule's, which validates workflowSchedule in the stack config;
the pack carries a verbatim copy (`_schedule_model.py`), so a schedule that reached the trigger some
other way is judged by the same rules. A schedule not known yet is not judged.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, known, resource_policy
from .._schedule_model import FIELD_NAMES, cron_problems
from .._stack import is_unknown

EXPECTED = f"expected cron({' '.join(FIELD_NAMES)}) in UTC"


def _check_schedule(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    kind = known(args.props, "type")
    if is_unknown(args, "schedule"):
        return
    schedule = known(args.props, "schedule")
    if kind != "SCHEDULED":
        if schedule:
            report(f"a trigger of type {kind or 'unset'} carries schedule {schedule!r}, which Glue ignores; "
                   "expected a schedule only on a SCHEDULED trigger")
        return
    if not schedule:
        report(f"the SCHEDULED trigger has no schedule; {EXPECTED}")
        return
    problems = cron_problems(str(schedule))
    if problems:
        report(f"schedule {schedule!r} is not a valid AWS cron expression ({'; '.join(problems)}); {EXPECTED}")


POLICY = resource_policy(
    name="aws-glue-trigger-configure-valid-schedule",
    description="Scheduled Glue triggers run on a valid AWS cron expression; other triggers carry no schedule.",
    severity=Severity.MEDIUM,
    remediation="Set the stack config workflowSchedule to cron(<minutes> <hours> <day-of-month> <month> "
                "<day-of-week> <year>) with one of day-of-month and day-of-week '?', e.g. cron(0 2 * * ? *).",
    types=[T.GLUE_TRIGGER],
    check=_check_schedule,
    frameworks=(),
    tags=["operations", "glue"],
)
