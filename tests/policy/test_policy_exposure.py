"""Exposure policies: public access blocks, bucket policies, RDS, security groups."""

from __future__ import annotations

from policy_support import doc, happy_stack, single

PAB = "aws-s3-bucket-configure-public-access-block"
FLAGS = "blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets all true"


def test_happy_stack_is_not_exposed():
    s = happy_stack()
    for name in (PAB, "aws-s3-bucket-policy-disallow-public-principal", "aws-rds-instance-disallow-public-access",
                 "aws-ec2-security-group-disallow-public-ingress"):
        assert single(s, name) == [], name


def test_incomplete_public_access_block_names_the_flags_that_are_off():
    s = happy_stack()
    s.get("silver-bucket-pab").inputs["restrictPublicBuckets"] = False
    del s.get("silver-bucket-pab").inputs["ignorePublicAcls"]
    assert single(s, PAB) == [("silver-bucket-pab", "bucket 'silver-bucket' public access block leaves "
                                                    f"ignorePublicAcls, restrictPublicBuckets off; expected {FLAGS}")]


def test_bucket_without_public_access_block_is_reported():
    s = happy_stack()
    s.resources.remove(s.get("scripts-bucket-pab"))
    assert single(s, PAB) == [
        ("scripts-bucket", f"bucket 'scripts-bucket' has no public access block; expected {FLAGS}")]


def test_bucket_policy_allowing_everyone_without_condition_is_reported():
    s = happy_stack()
    s.get("gold-bucket-policy").inputs["policy"] = doc(
        {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::lakehouse-prod-gold/*"},
        {"Sid": "FromEndpoint", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::lakehouse-prod-gold/*",
         "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0abc"}}})
    assert single(s, "aws-s3-bucket-policy-disallow-public-principal") == [
        ("gold-bucket-policy", "bucket policy statement 'PublicRead' allows Principal '*' without a Condition; "
                               "expected named principals, or a condition such as aws:SourceVpce / "
                               "aws:PrincipalOrgID")]


def test_public_rds_instance_is_reported():
    s = happy_stack()
    s.get("db").inputs["publiclyAccessible"] = True
    assert single(s, "aws-rds-instance-disallow-public-access") == [
        ("db", "RDS instance is publicly accessible; expected publiclyAccessible: false")]


def test_open_ingress_is_reported_for_each_rule_shape():
    s = happy_stack()
    s.get("db-sg").inputs["ingress"].append({"protocol": "tcp", "fromPort": 5432, "toPort": 5432,
                                             "cidrBlocks": ["10.0.0.0/16", "0.0.0.0/0"]})
    s.get("db-from-glue").inputs["cidrIpv6"] = "::/0"
    s.add("aws:ec2/securityGroupRule:SecurityGroupRule", "ssh", {
        "type": "ingress", "securityGroupId": "sg-db", "protocol": "-1", "fromPort": 0, "toPort": 0,
        "cidrBlocks": ["0.0.0.0/0"]})
    s.add("aws:ec2/securityGroupRule:SecurityGroupRule", "egress-all", {
        "type": "egress", "securityGroupId": "sg-db", "protocol": "-1", "fromPort": 0, "toPort": 0,
        "cidrBlocks": ["0.0.0.0/0"]})
    tail = "expected sources limited to security groups or private CIDRs"
    assert single(s, "aws-ec2-security-group-disallow-public-ingress") == [
        ("db-from-glue", f"ingress tcp 5432 is open to ::/0; {tail}"),
        ("db-sg", f"ingress tcp 5432 is open to 0.0.0.0/0; {tail}"),
        ("ssh", f"ingress all traffic is open to 0.0.0.0/0; {tail}"),
    ]
