"""Pipelines run by a Step Functions state machine (`orchestrator: step_functions`): start, watch, runs, verify.

A run is an execution (its ARN is the run id). The Glue job runs an execution started are read from its
history: a glue startJobRun.sync task is TaskScheduled (parameters name the JobName), then TaskSubmitted
(output carries the JobRunId). Pure functions turn API dicts into the rows the Glue-workflow commands
print (lakehouse.ops.runs); only the `fetch_*` functions and `check_state_machine` call AWS.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Sequence

from botocore.exceptions import ClientError
from rich.table import Table

from ..model.pipelines import PipelineSpec
from ..model.state_machine import definition
from . import runs as ops_runs
from .aws import Aws, OpsError, StackOutputs, error_code

OUTPUT = "stateMachines"  # stack output: pipeline -> state machine ARN
RUNNING = {"RUNNING", "PENDING_REDRIVE"}
EXECUTION_FAILED = {"FAILED", "TIMED_OUT", "ABORTED"}
NOT_FOUND = {"StateMachineDoesNotExist", "ExecutionDoesNotExist", "ResourceNotFound"}
# As components/pipeline_state_machine.py sets them (tests/ops pin the two together); the ops tool
# does not import the Pulumi components.
TYPE = "STANDARD"
LOG_LEVEL = "ALL"
DATA_KEY_REUSE_SECONDS = 300


def machine_name(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


# --- runs --------------------------------------------------------------------------------

def _not_found(aws: Aws, e: ClientError, what: str, name: str) -> OpsError | None:
    return aws.not_found(what, name) if error_code(e) in NOT_FOUND else None


def start(aws: Aws, arn: str, pipeline: str) -> str:
    try:
        return aws.sfn.start_execution(stateMachineArn=arn)["executionArn"]
    except ClientError as e:
        if error_code(e) == "ExecutionLimitExceeded":
            raise OpsError(f"{machine_name(arn)} has as many open executions as Step Functions allows; "
                           f"watch them: python -m lakehouse.ops runs {pipeline}") from None
        raise _not_found(aws, e, "state machine", arn) or e


def latest_execution(aws: Aws, arn: str, pipeline: str) -> str:
    try:
        runs = aws.sfn.list_executions(stateMachineArn=arn, maxResults=10)["executions"]
    except ClientError as e:
        raise _not_found(aws, e, "state machine", arn) or e
    if not runs:
        raise OpsError(f"{machine_name(arn)} has no executions yet; "
                       f"start one: python -m lakehouse.ops start {pipeline}")
    return max(runs, key=lambda r: r["startDate"])["executionArn"]


def fetch_history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn,
                                                                     includeExecutionData=True):
        events += page["events"]
    return events


def job_run_ids(events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Glue job name -> id of its latest job run, from an execution history.

    A TaskSubmitted event's output holds StartJobRun's answer ({"JobRunId": ...}) but not the job: its
    TaskScheduled (reached through previousEventId; TaskStarted lies between) names it. Parallel
    branches interleave, so the chain is followed rather than the order; a retry's later run wins.
    """
    by_id = {e["id"]: e for e in events}
    found: dict[str, str] = {}
    for e in sorted(events, key=lambda e: e["id"]):
        details = e.get("taskSubmittedEventDetails") or {}
        if e.get("type") != "TaskSubmitted" or details.get("resourceType") != "glue":
            continue
        run_id = json.loads(details.get("output") or "{}").get("JobRunId")
        prev = by_id.get(e.get("previousEventId"))
        while prev is not None and prev.get("type") != "TaskScheduled":
            prev = by_id.get(prev.get("previousEventId"))
        params = json.loads(((prev or {}).get("taskScheduledEventDetails") or {}).get("parameters") or "{}")
        if run_id and params.get("JobName"):
            found[params["JobName"]] = run_id
    return found


def execution_status(machine: str, execution: Mapping[str, Any], jobs: Sequence[tuple[str, str]],
                     job_runs: Mapping[str, Mapping[str, Any] | None], now: datetime | None = None
                     ) -> ops_runs.RunStatus:
    """Rows for `jobs` ((pipeline job name, Glue job name), DAG order) of one execution (DescribeExecution)."""
    now = now or datetime.now(timezone.utc)
    rows = tuple(ops_runs.job_row(label, job_runs.get(glue), now) for label, glue in jobs)
    status = str(execution.get("status", "?"))
    problems = [f"{r.job}: {r.state}" + (f" ({r.error})" if r.error else "")
                for r in rows if r.state in ops_runs.JOB_FAILED]
    if status in EXECUTION_FAILED:
        why = ": ".join(str(execution[k]) for k in ("error", "cause") if execution.get(k))
        problems.append(f"execution {status}" + (f" ({why})" if why else ""))
    if status == "SUCCEEDED" and not problems:
        problems += [f"{r.job}: never started" for r in rows if r.state == ops_runs.NOT_STARTED]
    return ops_runs.RunStatus(title=f"state machine {machine}", run_id=str(execution.get("executionArn", "")),
                              status=status, rows=rows, done=status not in RUNNING, problems=tuple(problems))


def fetch_status(aws: Aws, arn: str, execution_arn: str, jobs: Sequence[tuple[str, str]]) -> ops_runs.RunStatus:
    """DescribeExecution, its history, and GetJobRun for each job run the history names."""
    try:
        execution = aws.sfn.describe_execution(executionArn=execution_arn)
        ids = job_run_ids(fetch_history(aws.sfn, execution_arn))
    except ClientError as e:
        raise _not_found(aws, e, "execution", execution_arn) or e
    runs = {glue: ops_runs.fetch_job_run(aws.glue, glue, ids[glue]) for _, glue in jobs if glue in ids}
    return execution_status(machine_name(arn), execution, jobs, runs)


def status_fetcher(aws: Aws, arn: str, execution_arn: str,
                   jobs: Sequence[tuple[str, str]]) -> Callable[[], ops_runs.RunStatus]:
    return lambda: fetch_status(aws, arn, execution_arn, jobs)


def runs_table(aws: Aws, arn: str, limit: int) -> Table:
    """Recent executions (ListExecutions; DescribeExecution for the error of those that did not succeed)."""
    try:
        runs = aws.sfn.list_executions(stateMachineArn=arn, maxResults=limit)["executions"]
    except ClientError as e:
        raise _not_found(aws, e, "state machine", arn) or e
    runs = sorted(runs, key=lambda r: r["startDate"], reverse=True)[:limit]
    table = Table(title=f"recent executions of state machine {machine_name(arn)}", title_justify="left")
    for col in ("Run id", "Started", "Status", "Duration", "Error"):
        table.add_column(col, overflow="fold")
    now = datetime.now(timezone.utc)
    for r in runs:
        error = ""
        if r["status"] in EXECUTION_FAILED:
            d = aws.sfn.describe_execution(executionArn=r["executionArn"])
            error = ": ".join(str(d[k]) for k in ("error", "cause") if d.get(k))
        end = r.get("stopDate") or now
        table.add_row(r["executionArn"], f"{r['startDate']:%Y-%m-%d %H:%M:%S}", r["status"],
                      ops_runs.fmt_seconds((end - r["startDate"]).total_seconds()), error)
    if not runs:
        table.caption = "no executions yet"
    return table


# --- verify ------------------------------------------------------------------------------

def first_difference(actual: Any, expected: Any, path: str = "$") -> str | None:
    """Where two parsed JSON documents first differ (keys in sorted order), or None when equal."""
    if isinstance(actual, dict) and isinstance(expected, dict):
        for key in sorted(set(actual) | set(expected)):
            if key not in actual:
                return f"{path}.{key} missing (expected {json.dumps(expected[key])[:120]})"
            if key not in expected:
                return f"{path}.{key} not declared (found {json.dumps(actual[key])[:120]})"
            diff = first_difference(actual[key], expected[key], f"{path}.{key}")
            if diff:
                return diff
        return None
    if isinstance(actual, list) and isinstance(expected, list):
        for i, (a, b) in enumerate(zip(actual, expected)):
            diff = first_difference(a, b, f"{path}[{i}]")
            if diff:
                return diff
        if len(actual) != len(expected):
            return f"{path} has {len(actual)} items, expected {len(expected)}"
        return None
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (actual, expected))
    # JSON numbers: 2 and 2.0 are one value (a BackoffRate may be written either way); true is not 1
    if actual != expected or (not numbers and type(actual) is not type(expected)):
        return f"{path} is {json.dumps(actual)}, expected {json.dumps(expected)}"
    return None


def expected_definition(pipeline: PipelineSpec, outputs: StackOutputs) -> dict:
    """The ASL document lakehouse.model.state_machine builds from the declaration, bound to the outputs."""
    job_names = {j.name: outputs.item("jobs", j.key) for j in pipeline.jobs}
    crawler = outputs.item("crawlers", pipeline.name) if pipeline.crawler is not None else None
    return definition(pipeline, job_names, str(outputs.get("alertsTopicArn")), crawler)


def check_state_machine(aws: Aws, pipeline: PipelineSpec, outputs: StackOutputs,
                        same_key: Callable[[str | None], bool]) -> list:
    from .verify import _fail, _ok  # verify imports this module

    arn = outputs.item(OUTPUT, pipeline.name)
    name = machine_name(arn)
    try:
        found = aws.sfn.describe_state_machine(stateMachineArn=arn)
    except ClientError as e:
        if error_code(e) in NOT_FOUND:
            return [_fail("state machine", name, f"not found in region {aws.region}")]
        raise
    rows = [_ok("state machine", name, f"{pipeline.name}, {TYPE}") if found.get("type") == TYPE
            else _fail("state machine", name, f"type {found.get('type')!r}, expected {TYPE!r}")]
    try:
        actual = json.loads(found.get("definition") or "")
    except ValueError:
        actual = None
    diff = ("definition is not JSON" if actual is None
            else first_difference(actual, expected_definition(pipeline, outputs)))
    rows.append(_fail("state machine definition", name, diff) if diff
                else _ok("state machine definition", name, "as lakehouse.model.state_machine builds it"))

    log = found.get("loggingConfiguration") or {}
    group = f"/aws/vendedlogs/states/{name}"
    destinations = [((d.get("cloudWatchLogsLogGroup") or {}).get("logGroupArn") or "")
                    for d in log.get("destinations") or []]
    problems = []
    if log.get("level") != LOG_LEVEL:
        problems.append(f"level {log.get('level')!r}, expected {LOG_LEVEL!r}")
    if log.get("includeExecutionData"):
        problems.append("includes execution data, expected not")
    if len(destinations) != 1 or not destinations[0].endswith(f":log-group:{group}:*"):
        problems.append(f"destinations {destinations}, expected the log group {group}")
    rows.append(_fail("state machine logging", name, "; ".join(problems)) if problems
                else _ok("state machine logging", name, f"{LOG_LEVEL} to {group}, no execution data"))

    traced = (found.get("tracingConfiguration") or {}).get("enabled")
    rows.append(_ok("state machine tracing", name, "X-Ray on") if traced
                else _fail("state machine tracing", name, "X-Ray tracing off, expected on"))

    enc = found.get("encryptionConfiguration") or {}
    problems = []
    if enc.get("type") != "CUSTOMER_MANAGED_KMS_KEY" or not same_key(enc.get("kmsKeyId")):
        problems.append(f"{enc.get('type') or 'AWS_OWNED_KEY'} with key {enc.get('kmsKeyId')!r}, "
                        f"expected CUSTOMER_MANAGED_KMS_KEY with the stack key")
    if enc.get("kmsDataKeyReusePeriodSeconds") != DATA_KEY_REUSE_SECONDS:
        problems.append(f"data key reuse {enc.get('kmsDataKeyReusePeriodSeconds')!r} s, "
                        f"expected {DATA_KEY_REUSE_SECONDS}")
    rows.append(_fail("state machine encryption", name, "; ".join(problems)) if problems
                else _ok("state machine encryption", name, "the stack key"))
    return rows
