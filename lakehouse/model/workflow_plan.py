"""The Glue triggers that run a pipeline's DAG, as plain data.

One start trigger fires the jobs with no upstream job. Then one CONDITIONAL trigger per
distinct set of upstream jobs: it waits (logical AND) until every upstream job SUCCEEDED
and starts every job that waits on exactly that set, so a fan-out is one trigger with
several actions and a fan-in is one trigger with several conditions. A job is never both
predicate and action of one trigger, because no job depends on itself.

A pipeline with a crawler starts it first: the start trigger starts the crawler alone, and a
CONDITIONAL trigger `after-crawler`, on the crawler's crawl SUCCEEDED, starts the jobs with no
upstream job (they read the tables the crawl has just updated).
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
    starts_crawler: bool = False  # the trigger also starts the pipeline's crawler
    after_crawler: bool = False  # the trigger also waits for the crawler's crawl to have SUCCEEDED


def trigger_plan(pipeline: PipelineSpec) -> tuple[TriggerPlan, ...]:
    """Triggers in creation order: the start trigger, then conditional ones in DAG order."""
    order = pipeline.topological_order()
    roots = tuple(j.name for j in order if not j.depends_on)
    if pipeline.crawler is not None:
        plans = [TriggerPlan(suffix="start", kind="START", actions=(), starts_crawler=True),
                 TriggerPlan(suffix="after-crawler", kind="CONDITIONAL", actions=roots, after_crawler=True)]
    else:
        plans = [TriggerPlan(suffix="start", kind="START", actions=roots)]
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
