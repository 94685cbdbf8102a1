"""Every pipeline whose Glue jobs write Iceberg tables runs a table-maintenance job in its own orchestration:
a Glue job of the same pipeline whose script is the maintenance script (`maintain_tables.py`, uploaded as
`maintain_tables-<hash>.py`) is started by the same Glue workflow's triggers, or by a
`glue:startJobRun` Task of the same Step Functions state machine, that starts the pipeline's writing jobs.

Without it the tables only grow: every run adds snapshots, small files and merge-on-read delete files
that nothing compacts or expires, so reads slow down and storage is never released (docs/operations.md,
"Table maintenance"). A maintenance job that exists but that no orchestration starts is the same thing.

Read from what the stack registers: a job's pipeline is its `--pipeline` default argument; it writes
Iceberg tables when its `lakehouse:writes` tags (lakehouse.model.pipelines.declared_write_tags) name a
`<zone>.<table>` of a lake zone. Jobs without both are not judged. A trigger starts the jobs its
`actions[].jobName` name (or depend on while names are unknown) in its `workflowName`; a state machine
the `Parameters.JobName` of its `glue:startJobRun` Tasks (within Parallel branches and Map processors
too). A pipeline whose orchestration is not known yet (a definition unknown at preview) is not judged.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, is_list, is_map, stack_policy
from .._stack import StackIndex, get, items, strings

DECLARED_WRITES_TAG = "lakehouse:writes"  # lakehouse.model.pipelines.DECLARED_WRITES_TAG
LAKE_ZONES = ("bronze", "silver", "gold")  # the Iceberg zones (lakehouse.model.pipelines.LAKE_ZONES)
# lakehouse.model.pipelines.MAINTENANCE_SCRIPT, as components.glue_job uploads it (content hash appended)
MAINTENANCE_SCRIPT = re.compile(r"(^|/)maintain_tables(-[0-9a-f]+)?\.py$")
START_JOB_RUN = "glue:startJobRun"  # arn:aws:states:::glue:startJobRun[.sync] (also via aws-sdk:glue:)
EXPECTED = ("expected a Glue job running maintenance/maintain_tables.py for the pipeline, started after its "
            "last jobs by the same orchestration")


def _arguments(job: Any) -> Any:
    arguments = get(job.props, "defaultArguments")
    return arguments if is_map(arguments) else None


def _pipeline(job: Any) -> str | None:
    value = get(_arguments(job), "--pipeline") if _arguments(job) is not None else None
    return value if isinstance(value, str) and value else None


def _writes_iceberg(job: Any) -> bool:
    tags = get(job.props, "tags")
    if not is_map(tags):
        return False
    keys = [k for k in tags.keys() if k == DECLARED_WRITES_TAG or k.startswith(DECLARED_WRITES_TAG + ":")]
    entries = [e for k in keys for e in str(get(tags, k) or "").split()]
    return any(e.partition(".")[0] in LAKE_ZONES and e.partition(".")[2] for e in entries)


def _is_maintenance(job: Any) -> bool:
    script = get(job.props, "command", "scriptLocation")
    if script is None and is_list(get(job.props, "command")):
        script = get(job.props, "command", 0, "scriptLocation")
    return isinstance(script, str) and bool(MAINTENANCE_SCRIPT.search(script))


def _states(definition: Any) -> Iterable[Any]:
    """Every state of a definition, nested ones (Parallel branches, Map processors) included."""
    for state in (definition.get("States") or {}).values() if isinstance(definition, dict) else ():
        if not isinstance(state, dict):
            continue
        yield state
        for branch in state.get("Branches") or []:
            yield from _states(branch)
        for key in ("ItemProcessor", "Iterator"):
            yield from _states(state.get(key))


def _machine_jobs(machine: Any) -> set[str] | None:
    """The job names the state machine's startJobRun Tasks start; None when its definition is not known."""
    text = get(machine.props, "definition")
    if not isinstance(text, str):
        return None
    try:
        definition = json.loads(text)
    except ValueError:
        return None
    return {str(s["Parameters"]["JobName"]) for s in _states(definition)
            if s.get("Type") == "Task" and START_JOB_RUN in str(s.get("Resource") or "")
            and isinstance(s.get("Parameters"), dict) and isinstance(s["Parameters"].get("JobName"), str)}


def _orchestrations(s: StackIndex, job_name: dict[str, str]) -> list[tuple[str, Any, set[str] | None]]:
    """(what, resource, URNs of the jobs it starts; None when not known) per workflow and state machine."""
    by_name = {name: urn for urn, name in job_name.items()}
    out: list[tuple[str, Any, set[str] | None]] = []
    workflows: dict[str, set[str]] = {}
    for trigger in s.of(T.GLUE_TRIGGER):
        workflow = get(trigger.props, "workflowName")
        if not isinstance(workflow, str) or not workflow:
            continue
        started = {d.urn for d in (trigger.property_dependencies or {}).get("actions") or []
                   if d.resource_type == T.GLUE_JOB}
        started |= {by_name[n] for a in items(get(trigger.props, "actions")) for n in strings(get(a, "jobName"))
                    if n in by_name}
        workflows.setdefault(workflow, set()).update(started)
    resources = {get(w.props, "name"): w for w in s.of(T.GLUE_WORKFLOW)}
    for workflow, started in sorted(workflows.items()):
        out.append((f"Glue workflow '{workflow}'", resources.get(workflow), started))
    for machine in s.of(T.SFN_STATE_MACHINE):
        names = _machine_jobs(machine)
        started = None if names is None else {by_name[n] for n in names if n in by_name}
        out.append((f"state machine '{s.name_of(machine, 'name')}'", machine, started))
    return out


def _check_maintenance(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    s = StackIndex(args.resources)
    jobs = s.of(T.GLUE_JOB)
    job_name = {j.urn: s.name_of(j, "name") for j in jobs}
    pipelines: dict[str, dict[str, list[Any]]] = {}
    for job in jobs:
        pipeline = _pipeline(job)
        if pipeline is None:
            continue
        kind = "maintenance" if _is_maintenance(job) else "writers" if _writes_iceberg(job) else None
        if kind:
            pipelines.setdefault(pipeline, {"writers": [], "maintenance": []})[kind].append(job)
    orchestrations = _orchestrations(s, job_name)
    for pipeline, found in sorted(pipelines.items()):
        writers = sorted(found["writers"], key=lambda j: job_name[j.urn])
        if not writers:
            continue
        urns = {j.urn for j in writers}
        runs = [(what, r, started) for what, r, started in orchestrations if started is None or started & urns]
        if any(started is None for _, _, started in runs):
            continue  # an orchestration not known yet (preview): not judged
        names = ", ".join(f"'{job_name[j.urn]}'" for j in writers)
        maintenance = {j.urn for j in found["maintenance"]}
        where = (runs[0][1] or writers[0]).urn if len(runs) == 1 else writers[0].urn
        if not maintenance:
            report(f"pipeline '{pipeline}' writes Iceberg tables (Glue jobs {names}) and has no table-maintenance "
                   f"job; {EXPECTED}", where)
            continue
        for what, _, started in runs:
            if not started & maintenance:
                report(f"pipeline '{pipeline}' writes Iceberg tables (Glue jobs {names}) but {what} starts none of "
                       f"its table-maintenance jobs ({', '.join(sorted(repr(job_name[u]) for u in maintenance))}); "
                       f"{EXPECTED}", where)


POLICY = stack_policy(
    name="aws-glue-pipeline-require-table-maintenance",
    description="Every pipeline that writes Iceberg tables runs a table-maintenance job (compaction, snapshot "
                "expiry, orphan-file removal) in its own Glue workflow or state machine.",
    severity=Severity.MEDIUM,
    remediation="Keep the pipeline's synthesized maintenance job (lakehouse.model.pipelines.maintenance_job: every "
                "pipeline with Iceberg tables gets `<pipeline>-maintain`, started after its last jobs by its "
                "workflow or state machine); tune it under `maintenance:` in pipelines/<name>.yaml.",
    check=_check_maintenance,
    frameworks=(),
    tags=["operations", "iceberg", "glue"],
)
