"""JobAlerts: the stack's one SNS topic for job failures, encrypted with the lake key.

Each GlueJob adds its own EventBridge rules (FAILED / TIMEOUT / ERROR / STOPPED of that job, and
its run-delay notice) targeting this topic; LakeMonitoring adds the stack's CloudWatch alarms. The
topic policy lets EventBridge publish only from those rules and CloudWatch only from those alarms
(exact ARNs), in this account, over TLS. An e-mail subscription is added when alertEmail is set (the
address must confirm it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from lakehouse.model.iam import alerts_topic_policy
from lakehouse.model.names import AwsContext

TYPE = "glue-lakehouse:components:JobAlerts"


@dataclass(frozen=True)
class JobAlertsArgs:
    topic_name: str
    aws: AwsContext
    kms_key_arn: pulumi.Input[str]
    rule_names: Sequence[str]  # the jobs' failure rules allowed to publish
    email: str = ""
    alarm_names: Sequence[str] = ()  # the stack's CloudWatch alarms allowed to publish (LakeMonitoring)


class JobAlerts(pulumi.ComponentResource):
    topic: aws.sns.Topic
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: JobAlertsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(name, name=args.topic_name, display_name=f"{args.topic_name} (Glue job failures)",
                                   kms_master_key_id=args.kms_key_arn, opts=child)
        rule_arns = [args.aws.arn("events", f"rule/{r}") for r in args.rule_names]
        alarm_arns = [args.aws.arn("cloudwatch", f"alarm:{a}") for a in args.alarm_names]
        # The document names the topic by the ARN its name gives (known at preview, so the policy
        # pack judges it there); `arn` ties the policy to the topic resource itself.
        topic_arn = args.aws.arn("sns", args.topic_name)
        self.policy = aws.sns.TopicPolicy(
            f"{name}-policy", arn=self.topic.arn,
            policy=json.dumps(alerts_topic_policy(args.aws, topic_arn, rule_arns, alarm_arns)), opts=child)
        self.subscription: Optional[aws.sns.TopicSubscription] = None
        if args.email:
            self.subscription = aws.sns.TopicSubscription(
                f"{name}-email", topic=self.topic.arn, protocol="email", endpoint=args.email, opts=child)
        self.topic_arn = self.topic.arn
        self.register_outputs({"topicArn": self.topic_arn})
