"""The Glue triggers that run a pipeline's DAG, as plain data.

One start trigger fires the jobs with no upstream job. Then one CONDITIONAL trigger per
distinct set of upstream jobs: it waits (logical AND) until every upstream job SUCCEEDED
and starts every job that waits on exactly that set, so a fan-out is one trigger with
several actions and a fan-in is one trigger with several conditions. A job is never both
predicate and action of one trigger, because no job depends on itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from .pipelines import PipelineSpec


@dataclass(frozen=True)
class TriggerPlan:
    suffix: str  # the trigger is named "<workflow name>-<suffix>"
    kind: str  # "START" or "CONDITIONAL"
    actions: tuple[str, ...]  # job names started
    conditions: tuple[str, ...] = ()  # job names that must have SUCCEEDED (AND)


def trigger_plan(pipeline: PipelineSpec) -> tuple[TriggerPlan, ...]:
    """Triggers in creation order: the start trigger, then conditional ones in DAG order."""
    order = pipeline.topological_order()
    plans = [TriggerPlan(suffix="start", kind="START", actions=tuple(j.name for j in order if not j.depends_on))]
    groups: dict[tuple[str, ...], list[str]] = {}
    for job in order:
        if job.depends_on:
            upstream = tuple(sorted(job.depends_on))
            groups.setdefault(upstream, []).append(job.name)
    for upstream, actions in groups.items():
        plans.append(TriggerPlan(
            suffix="after-" + "-".join(upstream).replace("_", "-"),
            kind="CONDITIONAL",
            actions=tuple(actions),
            conditions=upstream,
        ))
    return tuple(plans)
