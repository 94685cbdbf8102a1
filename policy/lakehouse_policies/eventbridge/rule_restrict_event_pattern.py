"""Every EventBridge rule matches events of named sources: its `eventPattern` is a JSON object whose `source`
is a non-empty list of exact source names (e.g. `["aws.glue"]`), not missing (every source), not a content
filter such as `{"prefix": ""}`; a scheduled rule (`scheduleExpression`) needs no pattern.

A rule without a source matches every event on the bus (every service's, every account's that can
put events there) and hands each to its target: alerts for anything, or a workflow started by any
event. A pattern not known yet is not judged.
"""

from __future__ import annotations

import json

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, is_list, is_map, known, resource_policy, to_plain
from .._stack import is_unknown

EXPECTED = 'expected an eventPattern whose source lists the event sources by name (e.g. ["aws.glue"])'


def _check_event_pattern(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if is_unknown(args, "eventPattern"):
        return
    value = known(args.props, "eventPattern")
    if value in (None, ""):
        if not known(args.props, "scheduleExpression") and not is_unknown(args, "scheduleExpression"):
            report(f"the rule has neither an eventPattern nor a scheduleExpression; {EXPECTED}")
        return
    try:
        pattern = json.loads(value) if isinstance(value, str) else to_plain(value)
    except json.JSONDecodeError as e:
        report(f"eventPattern is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}); {EXPECTED}")
        return
    if not is_map(pattern):
        report(f"eventPattern is not a JSON object; {EXPECTED}")
        return
    if "source" not in pattern:
        report(f"eventPattern matches events of any source (no source); {EXPECTED}")
        return
    sources = pattern["source"]
    if not is_list(sources) or not sources or not all(isinstance(v, str) and v for v in sources):
        report(f"eventPattern source {json.dumps(sources)} is not a list of exact source names; {EXPECTED}")


POLICY = resource_policy(
    name="aws-eventbridge-rule-restrict-event-pattern",
    description="EventBridge rules match events of named sources only, never every event on the bus.",
    severity=Severity.MEDIUM,
    remediation="Give the aws.cloudwatch.EventRule an event_pattern with \"source\": [\"aws.<service>\"] (and the "
                "detail-type and detail that select the events), as GlueJob's failure rules and GlueWorkflow's "
                "raw-zone rule do.",
    types=[T.EVENT_RULE],
    check=_check_event_pattern,
    frameworks=(),
    tags=["operations", "exposure", "eventbridge"],
)
