"""A run's CloudWatch custom metrics: that it started, and its reconciled row counts.

The platform sets `--metrics_namespace` (the stack's own namespace, the only one besides Glue's that
the job's role may publish to: lakehouse.model.iam) and `--metrics_stack` on every deployed job
(lakehouse.model.platform); the job's `--pipeline` and `--job` name it. Without a namespace nothing
is published: the local runner publishes only when asked (`run --metrics-namespace`), to whatever
endpoint the AWS SDK is configured for (AWS_ENDPOINT_URL_CLOUDWATCH, e.g. moto's server in tests).

Every datum carries the dimensions Stack, Pipeline and Job (METRIC_DIMENSIONS):
- RunStarted = 1 when the run starts (the "scheduled run did not start" alarm watches it);
- RowsInput, RowsAccepted, RowsQuarantined and, when the job holds records back, RowsWaiting, from
  the reconciled figures (input = accepted + quarantined + waiting) when the run finishes.

A failed publish never fails the run: by then the run's data is committed and reconciled, and failing
it would make Glue retry work already done. It is made visible instead: a WARNING log line and the
`metrics_published` entry of the run's result (the run report's job result), `{"status": "failed",
"error": ...}`. Missing row metrics then leave the quarantine alarm without data (INSUFFICIENT_DATA),
and a missing RunStarted sets off the "did not start" alarm: neither hides a failure as "OK".
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Mapping

LOG = logging.getLogger("lakelib.metrics")
METRIC_DIMENSIONS = ("Stack", "Pipeline", "Job")
RUN_STARTED = "RunStarted"
ROW_METRICS = {"input": "RowsInput", "accepted": "RowsAccepted", "quarantined": "RowsQuarantined",
               "waiting": "RowsWaiting"}


@dataclass(frozen=True)
class MetricsTarget:
    """Where a run's metrics go: the namespace and the values of the Stack, Pipeline, Job dimensions."""

    namespace: str
    stack: str
    pipeline: str
    job: str

    @classmethod
    def from_args(cls, args: Mapping[str, Any], label: str) -> "MetricsTarget | None":
        """From the job's arguments (keys without dashes); None when no namespace is set (publishing off).
        `label` ("pipeline.job") names the run when --pipeline/--job are absent (a test calling run())."""
        namespace = str(args.get("metrics_namespace") or "").strip()
        if not namespace:
            return None
        pipeline, _, job = label.partition(".")
        return cls(namespace, str(args.get("metrics_stack") or "local"), str(args.get("pipeline") or pipeline),
                   str(args.get("job") or job or label))

    def dimensions(self) -> list[dict[str, str]]:
        return [{"Name": n, "Value": v} for n, v in zip(METRIC_DIMENSIONS, (self.stack, self.pipeline, self.job))]


def started_data(target: MetricsTarget, at: dt.datetime) -> list[dict]:
    return [{"MetricName": RUN_STARTED, "Dimensions": target.dimensions(), "Timestamp": at, "Value": 1.0,
             "Unit": "Count"}]


def row_data(target: MetricsTarget, metrics: Mapping[str, Any], at: dt.datetime) -> list[dict]:
    """One datum per reconciled count the run reports (waiting only when the job reports it)."""
    return [{"MetricName": name, "Dimensions": target.dimensions(), "Timestamp": at,
             "Value": float(metrics[key]), "Unit": "Count"}
            for key, name in ROW_METRICS.items() if key in metrics]


def publish(target: MetricsTarget | None, data: list[dict], client=None) -> dict:
    """PutMetricData `data` under `target`'s namespace; what happened, never an exception."""
    if target is None:
        return {"status": "off"}
    try:
        if client is None:
            import boto3  # on Glue and in the local venv; only needed when publishing
            from botocore.config import Config

            # an unreachable endpoint (a VPC without the monitoring endpoint) costs seconds, not minutes
            client = boto3.client("cloudwatch", config=Config(connect_timeout=5, read_timeout=10,
                                                              retries={"max_attempts": 3, "mode": "standard"}))
        client.put_metric_data(Namespace=target.namespace, MetricData=data)
    except Exception as e:  # noqa: BLE001 - whatever broke, the committed run stands (module docstring)
        LOG.warning("could not publish %s to CloudWatch namespace %s: %s: %s",
                    [d["MetricName"] for d in data], target.namespace, type(e).__name__, e)
        return {"status": "failed", "namespace": target.namespace, "error": f"{type(e).__name__}: {e}"}
    return {"status": "published", "namespace": target.namespace,
            "metrics": {d["MetricName"]: d["Value"] for d in data}}


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
