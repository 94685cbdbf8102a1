"""Every Glue trigger starts and waits on only the stack's own Glue jobs and crawlers: each `actions[].jobName`
/ `crawlerName` and `predicate.conditions[].jobName` / `crawlerName` names a job or crawler of the stack (by
its name, or a property dependency while names are unknown), each action starts something, and a
`workflowName` names a workflow of the stack.

A trigger naming another stack's job (or a job deleted from this one) starts what this stack does
not govern, or fails at its first run; a typo in a predicate leaves the rest of the workflow
waiting forever.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, stack_policy
from .._stack import StackIndex, block, get, items

KINDS = (("jobName", T.GLUE_JOB, "job"), ("crawlerName", T.GLUE_CRAWLER, "crawler"))
EXPECTED = "expected only the Glue jobs and crawlers of this stack"


def _names(s: StackIndex, rtype: str) -> set[str]:
    return {n for r in s.of(rtype) if isinstance(n := get(r.props, "name"), str) and n}


def _check_triggers(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    s = StackIndex(args.resources)
    stack_names = {rtype: _names(s, rtype) for _, rtype, _ in KINDS}
    workflows = _names(s, T.GLUE_WORKFLOW)
    for trigger in s.of(T.GLUE_TRIGGER):
        name = s.name_of(trigger, "name")
        refs = [("actions", "starts", i, a) for i, a in enumerate(items(get(trigger.props, "actions")))]
        predicate = block(get(trigger.props, "predicate"))
        refs += [("predicate", "waits on", i, c) for i, c in enumerate(items(get(predicate, "conditions")))]
        for prop, verb, i, entry in refs:
            named = [(key, rtype, what, get(entry, key)) for key, rtype, what in KINDS if get(entry, key) is not None]
            if not named and prop == "actions" and not (trigger.property_dependencies or {}).get(prop):
                # (with a dependency, the name may be one not known yet: not judged)
                report(f"trigger '{name}' action #{i + 1} starts nothing (no jobName or crawlerName); {EXPECTED}",
                       trigger.urn)
            for key, rtype, what, value in named:
                if isinstance(value, str) and value and value not in stack_names[rtype]:
                    report(f"trigger '{name}' {verb} {what} '{value}', which is not a Glue {what} of this stack; "
                           f"{EXPECTED}", trigger.urn)
        workflow = get(trigger.props, "workflowName")
        if isinstance(workflow, str) and workflow and workflow not in workflows:
            report(f"trigger '{name}' belongs to workflow '{workflow}', which is not a Glue workflow of this stack; "
                   "expected a workflow of this stack", trigger.urn)


POLICY = stack_policy(
    name="aws-glue-trigger-start-stack-jobs",
    description="Glue triggers start and wait on only the stack's own jobs and crawlers, in the stack's workflows.",
    severity=Severity.MEDIUM,
    remediation="Name the stack's aws.glue.Job / Crawler (their .name outputs) in trigger actions and predicate "
                "conditions, and the stack's aws.glue.Workflow in workflow_name (GlueWorkflow does).",
    check=_check_triggers,
    frameworks=(),
    tags=["operations", "glue"],
)
