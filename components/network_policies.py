"""IAM documents for the workflow's EventBridge start and for jobs using the JDBC connection.

Pure functions returning dicts (no Pulumi): components apply them to resolved ARNs and ids,
tests check them without mocks. Every statement has a Sid so a diff of a role's policy
reads as a list of named grants.
"""

from __future__ import annotations

from typing import Iterable, Optional

# Tag key AWS Glue puts on the elastic network interfaces it creates for a connection
# (the same key the AWS managed AWSGlueServiceRole policy allows).
GLUE_ENI_TAG_KEY = "aws-glue-service-resource"

# The ec2 Describe calls Glue makes before it starts a job in a VPC (subnet, security groups,
# S3 endpoint / route tables, ENIs). These actions support no resource-level permissions,
# so "*" is the only resource AWS accepts: the one documented exception to "no * resources"
# (the policy pack's allow-list should name exactly these actions).
STAR_ONLY_EC2_ACTIONS = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcEndpoints",
)


def eventbridge_trust_policy(account_id: str) -> dict:
    """Trust policy of the role EventBridge assumes to notify a Glue workflow.

    aws:SourceAccount keeps another account's rule from using the role (confused deputy).
    """
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EventBridgeAssume",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }],
    }


def notify_workflow_policy(workflow_arn: str) -> dict:
    """What the EventBridge role may do: hand events to exactly one workflow."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "NotifyWorkflow",
            "Effect": "Allow",
            "Action": "glue:notifyEvent",
            "Resource": workflow_arn,
        }],
    }


def ec2_arn(partition: str, region: str, account_id: str, kind: str, resource_id: str) -> str:
    return f"arn:{partition}:ec2:{region}:{account_id}:{kind}/{resource_id}"


def connection_job_statements(
    *,
    connection_name: str,
    secret_arn: str,
    secret_kms_key_arn: Optional[str],
    region: str,
    account_id: str,
    vpc_id: str,
    subnet_ids: Iterable[str],
    security_group_ids: Iterable[str],
    partition: str = "aws",
) -> list[dict]:
    """Statements a job role needs to run with the Glue JDBC connection, nothing wider.

    - read exactly this connection's definition (Glue resolves it at job start, and
      GlueContext.extract_jdbc_conf in the script reads it again);
    - read exactly the connection's secret (SECRET_ID), and decrypt it with its KMS key only
      when Secrets Manager asks on behalf of the role for that very secret;
    - create ENIs only in the connection's subnets with its security groups, tag them with
      Glue's tag key only, delete only ENIs in those subnets;
    - describe the VPC's attributes (resource-scoped) and the Describe calls that take "*".
    `secret_kms_key_arn` is None when the secret's key is not ours (an existing database whose
    secret uses the AWS managed key needs no grant; a customer key must be granted by its owner).
    """
    subnets = sorted(set(subnet_ids))
    sgs = sorted(set(security_group_ids))
    if not subnets or not sgs:
        raise ValueError(f"a connection needs subnets and security groups, got subnets={subnets}, security_groups={sgs}")
    subnet_arns = [ec2_arn(partition, region, account_id, "subnet", s) for s in subnets]
    eni_arn = ec2_arn(partition, region, account_id, "network-interface", "*")
    statements: list[dict] = [{
        "Sid": "ReadConnection",
        "Effect": "Allow",
        "Action": "glue:GetConnection",
        "Resource": [
            f"arn:{partition}:glue:{region}:{account_id}:catalog",
            f"arn:{partition}:glue:{region}:{account_id}:connection/{connection_name}",
        ],
    }, {
        "Sid": "ReadConnectionSecret",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": secret_arn,
    }]
    if secret_kms_key_arn:
        statements.append({
            "Sid": "DecryptConnectionSecret",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": secret_kms_key_arn,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": secret_arn,
                },
            },
        })
    statements += [
        {
            "Sid": "CreateConnectionEni",
            "Effect": "Allow",
            "Action": "ec2:CreateNetworkInterface",
            "Resource": [eni_arn] + subnet_arns
            + [ec2_arn(partition, region, account_id, "security-group", g) for g in sgs],
        },
        {
            "Sid": "TagConnectionEni",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": eni_arn,
            "Condition": {
                "ForAllValues:StringEquals": {"aws:TagKeys": [GLUE_ENI_TAG_KEY]},
                "ArnEquals": {"ec2:Subnet": subnet_arns},
            },
        },
        {
            "Sid": "DeleteConnectionEni",
            "Effect": "Allow",
            "Action": "ec2:DeleteNetworkInterface",
            "Resource": eni_arn,
            "Condition": {"ArnEquals": {"ec2:Subnet": subnet_arns}},
        },
        {
            "Sid": "DescribeConnectionVpc",
            "Effect": "Allow",
            "Action": "ec2:DescribeVpcAttribute",
            "Resource": ec2_arn(partition, region, account_id, "vpc", vpc_id),
        },
        {
            "Sid": "DescribeNetworkForConnection",
            "Effect": "Allow",
            "Action": list(STAR_ONLY_EC2_ACTIONS),
            "Resource": "*",
        },
    ]
    return statements
