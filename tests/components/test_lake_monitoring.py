"""LakeMonitoring in both stacks under mocks: the dashboard and alarms of lakehouse.model.monitoring, wired to
the alerts topic, which admits exactly those alarms; the jobs publish where the dashboard looks; and the job
failure / run-delay events reach their rules (AWS's event shapes matched by moto's EventBridge pattern engine)."""

from __future__ import annotations

import json

import pytest
from moto.events.models import EventPattern

from components.glue_job import delay_event_pattern, failure_event_pattern
from lakehouse.model.config import load_stack_config
from lakehouse.model.iam import GLUE_METRICS_NAMESPACE
from lakehouse.model.monitoring import alarm_names, alarm_specs, dashboard_body, monitoring_plan
from lakehouse.model.names import lake_names
from lakehouse.offline import ACCOUNT, evaluate_stack

REGION = "us-east-1"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack(request):
    return request.param, evaluate_stack(request.param)


def plan_for(name: str, ev):
    cfg = load_stack_config(name)
    rds = ev.of_type("aws:rds/instance:Instance")
    return monitoring_plan(cfg, lake_names(cfg, ACCOUNT), REGION, rds[0].inputs["identifier"] if rds else None)


def test_the_dashboard_is_the_models_body(stack):
    name, ev = stack
    dash = ev.one("aws:cloudwatch/dashboard:Dashboard")
    assert dash.inputs["dashboardName"] == f"lakehouse-{name}-lake"
    assert json.loads(dash.inputs["dashboardBody"]) == dashboard_body(plan_for(name, ev))
    assert ev.outputs["dashboard"] == f"lakehouse-{name}-lake"


def test_every_alarm_of_the_model_notifies_the_alerts_topic_on_alarm_and_ok(stack):
    name, ev = stack
    topic = ev.one("aws:sns/topic:Topic").outputs["arn"]
    alarms = {a.inputs["name"]: a for a in ev.of_type(ALARM)}
    assert set(alarms) == set(alarm_names(plan_for(name, ev)))
    for a in alarms.values():
        assert (a.inputs["alarmActions"], a.inputs["okActions"], a.inputs["actionsEnabled"]) == ([topic], [topic], True)
        assert a.inputs["tags"]["Stack"] == name  # the standard tags reach the alarms


def test_the_alarm_inputs_are_the_specs(stack):
    name, ev = stack
    for spec in alarm_specs(plan_for(name, ev)):
        a = ev.get(ALARM, f"monitoring-{spec.key}").inputs
        assert (a["comparisonOperator"], a["threshold"], a["evaluationPeriods"], a["treatMissingData"]) == (
            spec.comparison, spec.threshold, spec.evaluation_periods, spec.treat_missing_data)
        if spec.metric:
            assert (a["namespace"], a["metricName"], a["dimensions"], a["period"], a["statistic"]) == (
                spec.metric["namespace"], spec.metric["metric_name"], spec.metric["dimensions"],
                spec.metric["period"], spec.metric["statistic"])
        else:
            assert [q["id"] for q in a["metricQueries"]] == [q["id"] for q in spec.queries]
            assert [q.get("returnData", False) for q in a["metricQueries"]] == [
                q.get("return_data", False) for q in spec.queries]


def test_prod_alarms_on_the_database_it_creates_and_a_missed_nightly_start():
    ev = evaluate_stack("prod")
    db = ev.one("aws:rds/instance:Instance").inputs["identifier"]
    names = {a.inputs["name"]: a.inputs for a in ev.of_type(ALARM)}
    assert names["lakehouse-prod-rds-cpu"]["dimensions"] == {"DBInstanceIdentifier": db}
    assert names["lakehouse-prod-rds-free-storage"]["dimensions"] == {"DBInstanceIdentifier": db}
    assert {"lakehouse-prod-fhir-not-started", "lakehouse-prod-climate-not-started"} <= set(names)


def test_the_topic_admits_exactly_the_stacks_alarms_and_the_key_lets_cloudwatch_encrypt_for_it(stack):
    name, ev = stack
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:lakehouse-{name}-alerts"
    doc = json.loads(ev.one("aws:sns/topicPolicy:TopicPolicy").inputs["policy"])
    st = next(s for s in doc["Statement"] if s["Sid"] == "CloudWatchPublishesAlarms")
    assert st["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and st["Resource"] == topic_arn
    assert st["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": sorted(
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{a.inputs['name']}" for a in ev.of_type(ALARM))}}
    key = json.loads(ev.one("aws:kms/key:Key").inputs["policy"])
    kst = next(s for s in key["Statement"] if s["Sid"] == "CloudWatchAlarmsPublishToAlertTopic")
    assert kst["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert kst["Condition"] == {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}}


def test_every_job_publishes_where_the_dashboard_looks_and_its_role_may(stack):
    name, ev = stack
    namespace = f"GlueLakehouse/lakehouse-{name}"
    jobs = ev.of_type("aws:glue/job:Job")
    assert jobs
    for job in jobs:
        args = job.inputs["defaultArguments"]
        assert (args["--metrics_namespace"], args["--metrics_stack"]) == (namespace, name)
        assert args["--enable-metrics"] == args["--enable-observability-metrics"] == "true"
        policy = next(p for p in ev.of_type("aws:iam/rolePolicy:RolePolicy")
                      if p.name == f"{job.name}-policy")
        st = next(s for s in json.loads(policy.inputs["policy"])["Statement"] if s["Sid"] == "PublishGlueMetrics")
        assert st["Condition"] == {"StringEquals": {"cloudwatch:namespace": [GLUE_METRICS_NAMESPACE, namespace]}}


# --- the events of a failed, stopped, timed-out or late run reach their rules --------------------

def glue_event(detail_type: str, **detail) -> dict:
    """An event as Glue sends it (AWS Glue developer guide, "Automating AWS Glue with EventBridge")."""
    return {"version": "0", "id": "abcdef00-1234-5678-9abc-def012345678", "detail-type": detail_type,
            "source": "aws.glue", "account": ACCOUNT, "time": "2026-12-01T02:00:00Z", "region": REGION,
            "resources": [], "detail": detail}


def state_change(job: str, state: str) -> dict:
    return glue_event("Glue Job State Change", jobName=job, severity="ERROR" if state != "SUCCEEDED" else "INFO",
                      state=state, jobRunId="jr_0123", message=f"Job run {state.lower()}")


@pytest.mark.parametrize("state, alerts", [
    ("FAILED", True), ("TIMEOUT", True), ("ERROR", True), ("STOPPED", True), ("SUCCEEDED", False), ("RUNNING", False),
])
def test_a_run_ending_badly_matches_the_failure_rule(state, alerts):
    pattern = EventPattern.load(json.dumps(failure_event_pattern("lakehouse-prod-fhir-silver")))
    assert pattern.matches_event(state_change("lakehouse-prod-fhir-silver", state)) is alerts
    assert not pattern.matches_event(state_change("lakehouse-dev-fhir-silver", state))  # another stack's job


def test_the_notify_delay_notice_matches_the_delay_rule():
    """What Glue sends once a run passes its job's notifyDelayAfter (notifyDelayMinutes)."""
    notice = glue_event("Glue Job Run Status", jobName="lakehouse-prod-fhir-silver", severity="INFO",
                        notificationCondition={"NotifyDelayAfter": 60.0}, state="RUNNING", jobRunId="jr_0123",
                        message="Job run exceeded notifyDelayAfter")
    pattern = EventPattern.load(json.dumps(delay_event_pattern("lakehouse-prod-fhir-silver")))
    assert pattern.matches_event(notice)
    assert not pattern.matches_event(state_change("lakehouse-prod-fhir-silver", "RUNNING"))


def test_every_deployed_job_has_both_rules_and_the_topic_admits_them():
    ev = evaluate_stack("prod")
    rules = {r.inputs["name"]: json.loads(r.inputs["eventPattern"]) for r in ev.of_type(
        "aws:cloudwatch/eventRule:EventRule") if "aws.glue" in r.inputs.get("eventPattern", "")}
    doc = json.loads(ev.one("aws:sns/topicPolicy:TopicPolicy").inputs["policy"])
    admitted = next(s for s in doc["Statement"] if s["Sid"] == "EventBridgePublishesJobAlerts")
    admitted = set(admitted["Condition"]["ArnLike"]["aws:SourceArn"])
    for job in ev.of_type("aws:glue/job:Job"):
        n = job.inputs["name"]
        assert rules[f"{n}-failed"] == failure_event_pattern(n) and rules[f"{n}-late"] == delay_event_pattern(n)
        assert {f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{n}-failed",
                f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{n}-late"} <= admitted
