"""The Step Functions state machine that runs a pipeline's DAG (orchestrator: step_functions), as plain data.

`definition` builds the Amazon States Language document from the pipeline's waves
(PipelineSpec.waves(): groups of jobs whose upstream jobs all finished), in order:

1. with a crawler: StartCrawler (aws-sdk:glue:startCrawler), then a Wait / GetCrawler polling loop
   until the crawler is READY again with a last crawl reported; a last crawl that did not succeed goes
   to the failure branch (the first poll comes a minute after StartCrawler, which leaves the crawler
   RUNNING);
2. each wave: one job is one Task `arn:aws:states:::glue:startJobRun.sync` (Step Functions waits for
   the run to finish); a wave of several jobs is one Parallel state with a branch per job.

A wave waits for the whole previous wave, which is at least what every job's depends_on asks (a job
can wait longer than on a Glue workflow, never less). Every Task retries with backoff (a job run
refused because the job's concurrent-run limit is reached; a failed run once more) and catches every
error into an SNS publish to the alerts topic, then a Fail state. Inside a Parallel branch the catch
publishes from the branch (a Catch cannot leave its branch) and fails the branch; the Parallel state
then fails the execution without a second alert. Task outputs are discarded (ResultPath null), so
every state sees the execution's input. Pure: names and ARNs in, a dict out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from .pipelines import JobSpec, PipelineSpec

GLUE_JOB_SYNC = "arn:aws:states:::glue:startJobRun.sync"
START_CRAWLER = "arn:aws:states:::aws-sdk:glue:startCrawler"
GET_CRAWLER = "arn:aws:states:::aws-sdk:glue:getCrawler"
SNS_PUBLISH = "arn:aws:states:::sns:publish"

NOTIFY = "NotifyFailure"
FAILED = "PipelineFailed"
START_CRAWLER_STATE = "StartCrawler"
WAIT_CRAWLER_STATE = "WaitForCrawler"
GET_CRAWLER_STATE = "GetCrawler"
CRAWLER_READY_STATE = "CrawlerFinished?"
CRAWL_REPORTED_STATE = "CrawlReported?"
CRAWL_SUCCEEDED_STATE = "CrawlSucceeded?"
SUCCEEDED = "PipelineSucceeded"

# Error names Step Functions gives AWS SDK / optimized integration errors: "<Service>.<Exception>".
CONCURRENT_RUNS = "Glue.ConcurrentRunsExceededException"
CRAWLER_RUNNING = "Glue.CrawlerRunningException"
THROTTLED = "Glue.ThrottlingException"


@dataclass(frozen=True)
class RetryPolicy:
    """Retry with exponential backoff: IntervalSeconds * BackoffRate^n, at most MaxAttempts more tries."""

    interval_seconds: int
    backoff_rate: float
    max_attempts: int

    def retrier(self, *errors: str) -> dict:
        return {"ErrorEquals": list(errors), "IntervalSeconds": self.interval_seconds,
                "BackoffRate": self.backoff_rate, "MaxAttempts": self.max_attempts}


# A job at its concurrent-run limit (another run of the pipeline, or a hand-started run) frees up
# within minutes to hours: 1, 2, 4, 8, 16, 32 minutes.
BUSY_RETRY = RetryPolicy(interval_seconds=60, backoff_rate=2.0, max_attempts=6)
# A failed run (States.TaskFailed: FAILED, TIMEOUT, ERROR of the job run) gets one more try after
# 5 minutes: a transient Spark or S3 error; the jobs are idempotent (Iceberg commits, MERGE).
FAILED_RUN_RETRY = RetryPolicy(interval_seconds=300, backoff_rate=2.0, max_attempts=1)
API_RETRY = RetryPolicy(interval_seconds=5, backoff_rate=2.0, max_attempts=5)  # throttled API calls
CRAWLER_POLL_SECONDS = 60


def job_state_name(job: JobSpec) -> str:
    return f"Run {job.name}"


def _catch(target: str) -> list[dict]:
    # the error (Error, Cause) is added to the input, so the alert carries it with the execution input
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": target}]


def _notify(topic_arn: str, subject: str, nxt: str) -> dict:
    return {
        "Type": "Task",
        "Resource": SNS_PUBLISH,
        "Parameters": {
            "TopicArn": topic_arn,
            "Subject": subject[:100],  # SNS subjects are at most 100 characters
            "Message.$": "States.JsonToString($)",
        },
        "ResultPath": None,
        "Retry": [API_RETRY.retrier("States.TaskFailed")],
        "Next": nxt,
    }


def _fail(cause: str) -> dict:
    return {"Type": "Fail", "Error": "PipelineFailed", "Cause": cause}


def _job_task(glue_job: str, catch_to: str, nxt: Optional[str]) -> dict:
    state = {
        "Type": "Task",
        "Resource": GLUE_JOB_SYNC,
        "Parameters": {"JobName": glue_job},
        "ResultPath": None,
        "Retry": [BUSY_RETRY.retrier(CONCURRENT_RUNS), FAILED_RUN_RETRY.retrier("States.TaskFailed")],
        "Catch": _catch(catch_to),
    }
    return {**state, "Next": nxt} if nxt else {**state, "End": True}


def _branch(job: JobSpec, glue_job: str, pipeline: str, topic_arn: str) -> dict:
    """One job of a fan-out: its task, and its own alert and Fail (a Catch cannot leave the branch)."""
    run, notify, failed = job_state_name(job), f"Notify {job.name} failed", f"{job.name} failed"
    return {
        "StartAt": run,
        "States": {
            run: _job_task(glue_job, notify, None),
            notify: _notify(topic_arn, f"{pipeline}: job {job.name} failed", failed),
            failed: _fail(f"Glue job {glue_job} failed"),
        },
    }


def _crawler_states(crawler: str, pipeline: str, nxt: str) -> dict:
    return {
        START_CRAWLER_STATE: {
            "Type": "Task",
            "Resource": START_CRAWLER,
            "Parameters": {"Name": crawler},
            "ResultPath": None,
            # a crawl still running (a previous execution, or started by hand): wait for it to end
            "Retry": [BUSY_RETRY.retrier(CRAWLER_RUNNING), API_RETRY.retrier(THROTTLED)],
            "Catch": _catch(NOTIFY),
            "Next": WAIT_CRAWLER_STATE,
        },
        WAIT_CRAWLER_STATE: {"Type": "Wait", "Seconds": CRAWLER_POLL_SECONDS, "Next": GET_CRAWLER_STATE},
        GET_CRAWLER_STATE: {
            "Type": "Task",
            "Resource": GET_CRAWLER,
            "Parameters": {"Name": crawler},
            # the whole crawler: LastCrawl is absent until a first crawl ends, and a path that does not exist
            # in a ResultSelector or a comparison is a States.Runtime error no Catch catches
            "ResultSelector": {"State.$": "$.Crawler.State", "Details.$": "$.Crawler"},
            "ResultPath": "$.crawler",
            "Retry": [API_RETRY.retrier(THROTTLED)],
            "Catch": _catch(NOTIFY),
            "Next": CRAWLER_READY_STATE,
        },
        CRAWLER_READY_STATE: {
            "Type": "Choice",
            "Choices": [{"Variable": "$.crawler.State", "StringEquals": "READY", "Next": CRAWL_REPORTED_STATE}],
            "Default": WAIT_CRAWLER_STATE,  # RUNNING or STOPPING
        },
        CRAWL_REPORTED_STATE: {
            "Type": "Choice",
            "Choices": [{"Variable": "$.crawler.Details.LastCrawl.Status", "IsPresent": True,
                         "Next": CRAWL_SUCCEEDED_STATE}],
            "Default": WAIT_CRAWLER_STATE,  # not started yet: no crawl has ended
        },
        CRAWL_SUCCEEDED_STATE: {
            "Type": "Choice",
            "Choices": [{"Variable": "$.crawler.Details.LastCrawl.Status", "StringEquals": "SUCCEEDED",
                         "Next": nxt}],
            "Default": NOTIFY,  # FAILED or CANCELLED: no job runs on a catalog the crawl did not update
        },
    }


def definition(pipeline: PipelineSpec, job_names: Mapping[str, str], alerts_topic_arn: str,
               crawler_name: Optional[str] = None) -> dict:
    """The ASL document running `pipeline`: its crawler (when `crawler_name`), then its waves of jobs.

    `job_names`: job name in the pipeline -> Glue job name (every job of the pipeline)."""
    missing = sorted(j.name for j in pipeline.jobs if j.name not in job_names)
    if missing:
        raise ValueError(f"pipeline {pipeline.name!r}: no Glue job name for {missing}")
    if (crawler_name is None) != (pipeline.crawler is None):
        raise ValueError(f"pipeline {pipeline.name!r}: a crawler name is given exactly when the pipeline "
                         f"declares a crawler (declared: {pipeline.crawler is not None}, given: {crawler_name!r})")
    waves = pipeline.waves()
    # state names are at most 80 characters: a fan-out is named by its position, its jobs by their branches
    wave_names = [job_state_name(w[0]) if len(w) == 1 else f"Wave {i + 1}: {len(w)} jobs in parallel"
                  for i, w in enumerate(waves)]
    states: dict[str, dict] = {}
    first = wave_names[0] if wave_names else SUCCEEDED
    if crawler_name is not None:
        states.update(_crawler_states(crawler_name, pipeline.name, first))
    for i, wave in enumerate(waves):
        nxt = wave_names[i + 1] if i + 1 < len(waves) else SUCCEEDED
        if len(wave) == 1:
            states[wave_names[i]] = _job_task(job_names[wave[0].name], NOTIFY, nxt)
        else:
            states[wave_names[i]] = {
                "Type": "Parallel",
                "Branches": [_branch(j, job_names[j.name], pipeline.name, alerts_topic_arn) for j in wave],
                "ResultPath": None,
                # a branch has alerted already: fail without a second alert
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILED}],
                "Next": nxt,
            }
    states[SUCCEEDED] = {"Type": "Succeed"}
    states[NOTIFY] = _notify(alerts_topic_arn, f"{pipeline.name}: pipeline failed", FAILED)
    states[FAILED] = _fail(f"pipeline {pipeline.name} failed; the alert carries the error")
    return {
        "Comment": f"{pipeline.name}: {pipeline.description}"[:200] if pipeline.description else pipeline.name,
        "StartAt": START_CRAWLER_STATE if crawler_name is not None else first,
        "States": states,
    }


def tasks(document: Mapping) -> list[tuple[str, dict]]:
    """Every Task state of a definition, branches included, as (name, state)."""
    out: list[tuple[str, dict]] = []
    for name, state in document["States"].items():
        if state["Type"] == "Task":
            out.append((name, state))
        for branch in state.get("Branches", []):
            out.extend(tasks(branch))
    return out


# the crawler's poll loop: one pass through each of these per poll
CRAWLER_POLL_LOOP = (WAIT_CRAWLER_STATE, GET_CRAWLER_STATE, CRAWLER_READY_STATE)


def _success_path_states(document: Mapping) -> int:
    """States entered by an execution that succeeds at the first try: from StartAt along Next, the
    first Choice rule (definition() puts the way forward first: READY, reported, SUCCEEDED; the
    Default waits or fails), every branch of a Parallel state, up to Succeed or End."""
    states, name, count, seen = document["States"], document["StartAt"], 0, set()
    while name is not None:
        if name in seen:
            raise ValueError(f"the success path loops back to {name!r}")
        seen.add(name)
        state = states[name]
        count += 1
        count += sum(_success_path_states(b) for b in state.get("Branches", []))
        if state["Type"] == "Choice":
            name = state["Choices"][0]["Next"]
        elif state["Type"] in ("Succeed", "Fail") or state.get("End"):
            name = None
        else:
            name = state["Next"]
    return count


def transitions_per_execution(document: Mapping, crawler_polls: int = 1) -> int:
    """State transitions of one standard-workflow execution that succeeds without retries: one per state
    entered (Step Functions bills each step executed), the crawler's poll loop `crawler_polls` times
    (a definition with a crawler; at least once)."""
    count = _success_path_states(document)
    if WAIT_CRAWLER_STATE in document["States"]:
        count += (max(1, crawler_polls) - 1) * len(CRAWLER_POLL_LOOP)
    return count
