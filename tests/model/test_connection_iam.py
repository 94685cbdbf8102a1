"""What a job on the Glue JDBC connection may do to network interfaces (lakehouse.model.iam.connection_job_statements).

AWS documents how the multi-valued operators on aws:TagKeys behave: ForAllValues holds when every
key of the request is listed, which is also true of a request carrying no key at all; ForAnyValue
holds when at least one key of the request is listed. `_tag_keys_allowed` applies exactly that to
the statement's conditions on aws:TagKeys, so a tagging statement is judged on the requests it admits.
"""

from __future__ import annotations

import pytest

from lakehouse.model.iam import GLUE_ENI_TAG_KEY, connection_job_statements
from lakehouse.model.names import AwsContext
from policy.lakehouse_policies.iam.policy_lint_parliament import lint

ACCOUNT, REGION = "123456789012", "eu-west-1"
CTX = AwsContext(ACCOUNT, REGION)
SUBNETS = ("subnet-0aaaaaaaaaaaaaaa1",)
VPC = "vpc-0123456789abcdef0"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:analytics/pg-AbCdEf"
ENIS = f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/*"


def statements(created: bool) -> list[dict]:
    network = {} if created else {"subnet_ids": SUBNETS, "vpc_id": VPC}
    return connection_job_statements(CTX, connection_name="lakehouse-dev-postgres", db_secret_arn=SECRET, **network)


def tagging(created: bool) -> dict:
    found = [s for s in statements(created) if "ec2:CreateTags" in (s["Action"] if isinstance(s["Action"], list)
                                                                       else [s["Action"]])]
    assert [s["Sid"] for s in found] == ["TagConnectionEni"]
    return found[0]


def _tag_keys_allowed(condition: dict, keys: list[str]) -> bool:
    """Do the statement's conditions on aws:TagKeys hold for a request tagging with `keys`?"""
    for operator, entries in condition.items():
        if "aws:TagKeys" not in entries:
            continue
        assert operator in ("ForAllValues:StringEquals", "ForAnyValue:StringEquals"), operator
        listed = set(entries["aws:TagKeys"])
        holds = all(k in listed for k in keys) if operator.startswith("ForAllValues") else \
            any(k in listed for k in keys)
        if not holds:
            return False
    return True


@pytest.mark.parametrize("created", [True, False], ids=["created-network", "existing-network"])
@pytest.mark.parametrize("keys, allowed", [
    ([GLUE_ENI_TAG_KEY], True),
    ([], False),  # ForAllValues alone holds here: a statement must not rest on it
    (["Name"], False),
    ([GLUE_ENI_TAG_KEY, "Name"], False),
    (["lakehouse:glue-connection"], False),
], ids=["glue-key", "no-key", "other-key", "glue-key-and-another", "the-stack-connection-tag"])
def test_a_job_tags_connection_enis_with_glue_s_key_and_nothing_else(created, keys, allowed):
    st = tagging(created)
    assert st["Effect"] == "Allow" and st["Resource"] == ENIS
    assert _tag_keys_allowed(st["Condition"], keys) is allowed
    assert not [op for op in st["Condition"] if op.endswith("IfExists")]  # no key may simply be absent


def test_in_an_existing_network_a_job_tags_only_enis_in_the_connection_subnet():
    """The configured subnet is known at preview: ec2:Subnet (the ENI's subnet ARN, a key of
    ec2:CreateTags on network-interface) names it."""
    st = tagging(created=False)
    assert st["Condition"]["ArnEquals"] == {"ec2:Subnet": [f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{SUBNETS[0]}"]}


def test_in_a_created_network_nothing_names_an_id_aws_assigns():
    """The created subnet's and VPC's ids exist only after creation: the statement names none (known
    at preview), so it carries no ec2:Subnet or ec2:Vpc condition; the tag keys are its only bound."""
    st = tagging(created=True)
    assert set(st["Condition"]) == {"ForAllValues:StringEquals", "ForAnyValue:StringEquals"}
    assert "subnet/" not in str(st) and "vpc/" not in str(st)


@pytest.mark.parametrize("created", [True, False], ids=["created-network", "existing-network"])
def test_every_condition_key_is_one_parliament_knows_for_the_action(created):
    assert lint({"Version": "2012-10-17", "Statement": statements(created)}) == []
