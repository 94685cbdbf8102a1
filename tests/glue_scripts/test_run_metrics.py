"""lakelib.runtime.metrics through JobRun: what a run publishes, and what a failed publish leaves."""

from __future__ import annotations

import datetime as dt
import logging

import boto3
import pytest
from moto import mock_aws

from lakelib.runtime import metrics as cloudwatch
from lakelib.runtime.args import ArgSpec
from lakelib.runtime.job import JobRun, ReconciliationError

SPEC = ArgSpec(required=("catalog",), optional={"run_id": None})
ARGS = {"--catalog": "local", "--pipeline": "fhir", "--job": "silver", "--metrics_namespace": "GlueLakehouse/x-dev",
        "--metrics_stack": "dev"}
FIGURES = {"input": 10, "accepted": 6, "quarantined": 3, "waiting": 1}


@pytest.fixture()
def aws(monkeypatch):
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL_CLOUDWATCH", raising=False)
    with mock_aws():
        yield boto3.client("cloudwatch")


def published(cw, name: str) -> list[float]:
    now = dt.datetime.now(dt.timezone.utc)
    stats = cw.get_metric_statistics(
        Namespace=ARGS["--metrics_namespace"], MetricName=name, Statistics=["Sum"], Period=3600,
        StartTime=now - dt.timedelta(minutes=30), EndTime=now + dt.timedelta(minutes=30),
        Dimensions=[{"Name": "Stack", "Value": "dev"}, {"Name": "Pipeline", "Value": "fhir"},
                    {"Name": "Job", "Value": "silver"}])
    return [p["Sum"] for p in stats["Datapoints"]]


def test_start_and_finish_publish_started_and_the_reconciled_counts(aws):
    run = JobRun.start("fhir.silver", ARGS, SPEC)
    result = run.finish(dict(FIGURES))
    assert result["metrics_published"]["started"]["status"] == "published"
    assert result["metrics_published"]["rows"] == {
        "status": "published", "namespace": "GlueLakehouse/x-dev",
        "metrics": {"RowsInput": 10.0, "RowsAccepted": 6.0, "RowsQuarantined": 3.0, "RowsWaiting": 1.0}}
    assert published(aws, "RunStarted") == [1.0]
    assert published(aws, "RowsQuarantined") == [3.0]
    assert published(aws, "RowsWaiting") == [1.0]


def test_no_namespace_publishes_nothing_and_leaves_the_result_as_it_was(aws):
    args = {k: v for k, v in ARGS.items() if k != "--metrics_namespace"}
    result = JobRun.start("fhir.silver", args, SPEC).finish(dict(FIGURES))
    assert "metrics_published" not in result
    assert aws.list_metrics()["Metrics"] == []


def test_a_job_without_waiting_publishes_no_waiting_metric(aws):
    result = JobRun.start("fhir.silver", ARGS, SPEC).finish({"input": 4, "accepted": 4, "quarantined": 0})
    assert set(result["metrics_published"]["rows"]["metrics"]) == {"RowsInput", "RowsAccepted", "RowsQuarantined"}


def test_an_unreconciled_run_publishes_no_rows(aws):
    run = JobRun.start("fhir.silver", ARGS, SPEC)
    with pytest.raises(ReconciliationError):
        run.finish({"input": 5, "accepted": 1, "quarantined": 1})
    assert published(aws, "RowsInput") == []


class Refusing:
    def put_metric_data(self, **_):
        raise RuntimeError("AccessDenied: not authorized to perform cloudwatch:PutMetricData")


def test_a_failed_publish_keeps_the_result_and_says_so(monkeypatch, caplog):
    """The run's figures survive; the failure is logged and in the result (the run report's job result)."""
    monkeypatch.setattr(cloudwatch, "publish", lambda target, data, client=None: _publish(target, data, Refusing()))
    with caplog.at_level(logging.WARNING, logger="lakelib.metrics"):
        run = JobRun.start("fhir.silver", ARGS, SPEC)
        result = run.finish(dict(FIGURES))
    assert {k: result[k] for k in FIGURES} == FIGURES
    for what in ("started", "rows"):
        outcome = result["metrics_published"][what]
        assert outcome["status"] == "failed" and "AccessDenied" in outcome["error"], outcome
    assert sum("could not publish" in r.getMessage() for r in caplog.records) == 2


_publish = cloudwatch.publish


def test_metrics_target_falls_back_to_the_run_label():
    target = cloudwatch.MetricsTarget.from_args({"metrics_namespace": "N"}, "climate.metrics")
    assert (target.stack, target.pipeline, target.job) == ("local", "climate", "metrics")
    assert cloudwatch.MetricsTarget.from_args({"metrics_namespace": "  "}, "a.b") is None
