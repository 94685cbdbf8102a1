"""Monitoring policies: alarms notify the stack's topic; a named RDS instance has its storage and CPU alarms."""

from __future__ import annotations

from policy_support import ACCOUNT, happy_stack, single

from policy.lakehouse_policies import types as T

NOTIFY = "aws-cloudwatch-metric-alarm-notify-stack-topic"
RDS_ALARMS = "aws-cloudwatch-rds-instance-require-alarms"
DB = "lakehouse-prod-postgres"


def monitored():
    s = happy_stack()
    s.get("db").inputs["identifier"] = DB
    for key, metric, comparison in (("rds-free-storage", "FreeStorageSpace", "LessThanThreshold"),
                                    ("rds-cpu", "CPUUtilization", "GreaterThanThreshold")):
        s.add(T.METRIC_ALARM, key, {
            "name": f"lakehouse-prod-{key}", "namespace": "AWS/RDS", "metricName": metric, "statistic": "Average",
            "dimensions": {"DBInstanceIdentifier": DB}, "period": 300, "evaluationPeriods": 2, "threshold": 1,
            "comparisonOperator": comparison, "actionsEnabled": True,
            "alarmActions": ["unknown-at-preview"], "okActions": ["unknown-at-preview"]},
            deps={"alarmActions": "alerts", "okActions": "alerts"})
    return s


def test_the_monitored_stack_passes_both():
    s = monitored()
    assert single(s, NOTIFY) == [] and single(s, RDS_ALARMS) == []


def test_an_alarm_notifying_nobody_or_another_stacks_topic_is_named():
    s = monitored()
    cpu = s.get("rds-cpu")
    cpu.property_dependencies.clear()
    cpu.inputs["alarmActions"] = [f"arn:aws:sns:us-east-1:{ACCOUNT}:lakehouse-dev-alerts"]
    del cpu.inputs["okActions"]
    s.get("rds-free-storage").inputs["actionsEnabled"] = False
    assert single(s, NOTIFY) == [
        ("rds-cpu", f"alarm 'lakehouse-prod-rds-cpu' notifies ['arn:aws:sns:us-east-1:{ACCOUNT}:lakehouse-dev-alerts'] "
                    "when it fires (alarmActions); expected an SNS topic of this stack (the alerts topic)"),
        ("rds-cpu", "alarm 'lakehouse-prod-rds-cpu' notifies nothing when it recovers (okActions); expected an SNS "
                    "topic of this stack (the alerts topic)"),
        ("rds-free-storage", "alarm 'lakehouse-prod-rds-free-storage' has its actions disabled (actionsEnabled: "
                             "false); expected actionsEnabled true so that it notifies the stack's alerts topic"),
    ]


def test_a_database_without_its_alarms_or_with_an_alarm_the_wrong_way_round_is_named():
    s = monitored()
    s.get("rds-free-storage").inputs["comparisonOperator"] = "GreaterThanThreshold"  # fires when there is room
    s.get("rds-cpu").inputs["dimensions"] = {"DBInstanceIdentifier": "lakehouse-dev-postgres"}
    assert single(s, RDS_ALARMS) == [
        ("db", f"RDS instance '{DB}' has no alarm on CPU rising; expected a MetricAlarm on AWS/RDS CPUUtilization "
               f"with dimensions DBInstanceIdentifier = '{DB}' and comparisonOperator GreaterThanThreshold | "
               "GreaterThanOrEqualToThreshold"),
        ("db", f"RDS instance '{DB}' has no alarm on free storage falling; expected a MetricAlarm on AWS/RDS "
               f"FreeStorageSpace with dimensions DBInstanceIdentifier = '{DB}' and comparisonOperator "
               "LessThanThreshold | LessThanOrEqualToThreshold"),
    ]


def test_an_auto_named_instance_is_not_judged():
    s = happy_stack()  # its RDS instance has no identifier: unknown until it exists
    assert single(s, RDS_ALARMS) == []
