"""LakeMonitoring: the stack's CloudWatch dashboard and its alarms, notifying the alerts topic.

Everything comes from lakehouse.model.monitoring (pure): the dashboard body (`dashboard_body`) and one
MetricAlarm per `AlarmSpec`, each with the alerts topic as its alarm and OK action, so the topic says
both when something breaks and when it recovers. JobAlerts' topic policy lets exactly these alarms
publish (`alarm_names`, computed before the alarms exist), and the lake key lets CloudWatch encrypt
for that topic only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from lakehouse.model.monitoring import AlarmSpec, MonitoringPlan, alarm_specs, dashboard_body, dashboard_problems

TYPE = "glue-lakehouse:components:LakeMonitoring"


@dataclass(frozen=True)
class LakeMonitoringArgs:
    plan: MonitoringPlan
    alerts_topic_arn: pulumi.Input[str]


def _query(q: dict) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    metric = q.get("metric")
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=q["id"], expression=q.get("expression"), label=q.get("label"), return_data=q.get("return_data", False),
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=metric["namespace"], metric_name=metric["metric_name"], dimensions=metric["dimensions"],
            period=metric["period"], stat=metric["stat"]) if metric else None)


def alarm_inputs(spec: AlarmSpec) -> dict:
    """MetricAlarm arguments of one spec (no actions)."""
    common = dict(name=spec.name, alarm_description=spec.description, comparison_operator=spec.comparison,
                  threshold=spec.threshold, evaluation_periods=spec.evaluation_periods,
                  datapoints_to_alarm=spec.datapoints_to_alarm, treat_missing_data=spec.treat_missing_data)
    if spec.metric is not None:
        m = spec.metric
        return dict(common, namespace=m["namespace"], metric_name=m["metric_name"], dimensions=m["dimensions"],
                    period=m["period"], statistic=m["statistic"])
    return dict(common, metric_queries=[_query(q) for q in spec.queries])


class LakeMonitoring(pulumi.ComponentResource):
    dashboard: aws.cloudwatch.Dashboard
    alarms: dict[str, aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: LakeMonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        body = dashboard_body(args.plan)
        problems = dashboard_problems(body)
        if problems:  # a model defect: CloudWatch would refuse the body or draw empty widgets
            raise ValueError(f"dashboard {args.plan.dashboard}: " + "; ".join(problems))
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=args.plan.dashboard, dashboard_body=json.dumps(body), opts=child)
        self.alarms = {
            spec.key: aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.key}", **alarm_inputs(spec), actions_enabled=True,
                alarm_actions=[args.alerts_topic_arn], ok_actions=[args.alerts_topic_arn], opts=child)
            for spec in alarm_specs(args.plan)
        }
        self.register_outputs({"dashboard": self.dashboard.dashboard_name,
                               "alarms": sorted(s.name for s in alarm_specs(args.plan))})
