"""The S3 bucket settings the stack makes and nothing enforced before (issue 17): versioning, ACLs off,
no public ACL, the TLS-only bucket policy, server access logging. Both shipped stacks pass; each broken
setting is reported with its exact message, on the shipped stacks and on the hand-built happy stack."""

from __future__ import annotations

import json

import pytest
from policy_support import (
    ACCOUNT,
    happy_stack,
    judged,
    level_of,
    named,
    set_input,
    shipped,
    single,
    urn,
)

from policy.lakehouse_policies import types as T
from policy.offline import Resource

VERSIONING = "aws-s3-bucket-enable-versioning"
ACLS = "aws-s3-bucket-disable-acls"
PUBLIC_ACL = "aws-s3-bucket-acl-disallow-public"
TLS = "aws-s3-bucket-policy-require-tls"
LOGGING = "aws-s3-bucket-enable-access-logging"
POLICIES = (VERSIONING, ACLS, PUBLIC_ACL, TLS, LOGGING)

RAW = f"lakehouse-prod-raw-{ACCOUNT}"
EXPECT_VERSIONING = "expected a BucketVersioning with status Enabled"
EXPECT_ACLS = "expected a BucketOwnershipControls with objectOwnership BucketOwnerEnforced (ACLs disabled)"
EXPECT_PRIVATE = "expected a private bucket (no ACL at all: object ownership BucketOwnerEnforced)"
EXPECT_TLS = ("expected a Deny of s3:* for Principal '*' on the bucket and its objects when aws:SecureTransport "
              "is false")
EXPECT_LOG_BUCKET = "the stack's access-log bucket 'lake-logs'"


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("policy", POLICIES)
def test_both_shipped_stacks_pass_and_the_policy_is_mandatory(stack, policy):
    assert judged(shipped(stack), policy, stack) == []
    assert level_of(policy, stack) == "mandatory"


def test_the_hand_built_happy_stack_passes():
    s = happy_stack()
    for policy in POLICIES:
        assert single(s, policy) == [], policy


# --- versioning ---------------------------------------------------------------------------------

def test_suspended_or_missing_versioning_is_reported():
    rs = shipped("prod")
    set_input(named(rs, "lake-raw-versioning"), "versioningConfiguration", {"status": "Suspended"})
    rs.remove(named(rs, "lake-gold-versioning"))
    assert judged(rs, VERSIONING) == [
        ("mandatory", "lake-gold", f"bucket 'lake-gold' has no versioning configuration; {EXPECT_VERSIONING}"),
        ("mandatory", "lake-raw-versioning", f"bucket 'lake-raw' versioning is Suspended; {EXPECT_VERSIONING}"),
    ]


def test_versioning_is_matched_by_bucket_name_and_the_bucket_own_setting_counts():
    s = happy_stack()
    for r in s.resources:
        r.property_dependencies, r.dependencies = {}, []
    assert single(s, VERSIONING) == []
    s.get("raw-bucket-versioning").inputs["bucket"] = "somebody-elses-bucket"
    assert single(s, VERSIONING) == [("raw-bucket", "bucket 'raw-bucket' has no versioning configuration; "
                                                    f"{EXPECT_VERSIONING}")]
    set_input(s.get("raw-bucket"), "versioning", {"enabled": True})  # the v6-style inline setting
    assert single(s, VERSIONING) == []


# --- ACLs ---------------------------------------------------------------------------------------

def test_object_writer_or_missing_ownership_controls_is_reported():
    rs = shipped("prod")
    set_input(named(rs, "lake-raw-ownership"), "rule", {"objectOwnership": "ObjectWriter"})
    rs.remove(named(rs, "lake-temp-ownership"))
    assert judged(rs, ACLS) == [
        ("mandatory", "lake-raw-ownership", f"bucket 'lake-raw' object ownership is ObjectWriter (ACLs enabled); "
                                            f"{EXPECT_ACLS}"),
        ("mandatory", "lake-temp", f"bucket 'lake-temp' has no ownership controls (ACLs enabled); {EXPECT_ACLS}"),
    ]


def _acl(rtype: str, name: str, inputs: dict) -> Resource:
    return Resource(type=rtype, name=name, urn=urn("prod", rtype, name), inputs={"bucket": RAW, **inputs})


ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


@pytest.mark.parametrize("rtype, inputs, message", [
    (T.S3_ACL, {"acl": "public-read"}, "canned ACL 'public-read' makes the bucket public"),
    (T.S3_ACL_LEGACY, {"acl": "public-read-write"}, "canned ACL 'public-read-write' makes the bucket public"),
    (T.S3_ACL, {"accessControlPolicy": {"owner": {"id": "abc"}, "grants": [
        {"grantee": {"type": "Group", "uri": ALL_USERS}, "permission": "READ"}]}},
     "ACL grants READ to AllUsers (everyone)"),
    (T.S3_ACL, {"accessControlPolicy": {"owner": {"id": "abc"}, "grants": [
        {"grantee": {"type": "Group", "uri": AUTHENTICATED}, "permission": "WRITE"}]}},
     "ACL grants WRITE to AuthenticatedUsers (any AWS account)"),
])
def test_a_public_acl_resource_is_reported(rtype, inputs, message):
    rs = shipped("prod")
    rs.append(_acl(rtype, "raw-acl", inputs))
    assert judged(rs, PUBLIC_ACL) == [("mandatory", "raw-acl", f"{message}; {EXPECT_PRIVATE}")]


def test_a_bucket_own_public_acl_or_grant_is_reported_and_private_acls_pass():
    s = happy_stack()
    s.get("raw-bucket").inputs["acl"] = "authenticated-read"
    s.get("gold-bucket").inputs["grants"] = [{"type": "Group", "uri": ALL_USERS, "permissions": ["READ", "READ_ACP"]}]
    assert single(s, PUBLIC_ACL) == [
        ("gold-bucket", f"ACL grants READ, READ_ACP to AllUsers (everyone); {EXPECT_PRIVATE}"),
        ("raw-bucket", f"canned ACL 'authenticated-read' makes the bucket public; {EXPECT_PRIVATE}"),
    ]
    s = happy_stack()
    s.resources.append(_acl(T.S3_ACL, "raw-acl", {"acl": "private"}))
    s.resources.append(_acl(T.S3_ACL, "logs-acl", {"accessControlPolicy": {"grants": [
        {"grantee": {"type": "CanonicalUser", "id": "abc"}, "permission": "FULL_CONTROL"}]}}))
    assert single(s, PUBLIC_ACL) == []


# --- TLS-only bucket policy ---------------------------------------------------------------------

def _edit_policy(rs, name: str, edit) -> None:
    r = named(rs, name, T.S3_BUCKET_POLICY)
    doc = json.loads(r.inputs["policy"])
    edit(doc["Statement"][0])
    doc["Statement"] = [st for st in doc["Statement"] if st]
    set_input(r, "policy", json.dumps(doc))


def test_a_bucket_policy_without_the_tls_deny_is_reported():
    rs = shipped("prod")
    _edit_policy(rs, "lake-raw-policy", lambda st: st.clear())
    rs.remove(named(rs, "lake-gold-policy"))
    assert judged(rs, TLS) == [
        ("mandatory", "lake-gold", f"bucket 'lake-gold' has no bucket policy; {EXPECT_TLS}"),
        ("mandatory", "lake-raw", f"bucket 'lake-raw' policy does not deny requests without TLS; {EXPECT_TLS}"),
    ]


@pytest.mark.parametrize("edit, lacks", [
    (lambda st: st.update(Resource=[f"arn:aws:s3:::{RAW}"]), f"it does not cover {RAW}/*"),
    (lambda st: st.update(Resource=f"arn:aws:s3:::{RAW}/*"), f"it does not cover {RAW}"),
    (lambda st: st.update(Resource=["arn:aws:s3:::lakehouse-prod-gold-*"]),
     f"it does not cover {RAW} and {RAW}/*"),
    (lambda st: st.update(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), "its Principal is not '*'"),
    (lambda st: st.update(Action=["s3:GetObject", "s3:PutObject"]), "it denies s3:GetObject, s3:PutObject, not s3:*"),
])
def test_a_tls_deny_that_falls_short_says_what_it_lacks(edit, lacks):
    rs = shipped("prod")
    _edit_policy(rs, "lake-raw-policy", edit)
    assert judged(rs, TLS) == [("mandatory", "lake-raw", "bucket 'lake-raw' policy statement 'DenyInsecureTransport' "
                                                         f"denies requests without TLS but {lacks}; {EXPECT_TLS}")]


@pytest.mark.parametrize("edit", [
    lambda st: st.update(Resource=f"arn:aws:s3:::{RAW}*"),  # one pattern covering both
    lambda st: st.update(Resource="*", Action="*"),
    lambda st: st.update(Condition={"BoolIfExists": {"aws:SecureTransport": False}}),
    lambda st: st.update(Principal={"AWS": ["*"]}),
])
def test_equivalent_tls_denies_pass(edit):
    rs = shipped("prod")
    _edit_policy(rs, "lake-raw-policy", edit)
    assert judged(rs, TLS) == []


def test_the_bucket_own_policy_counts():
    s = happy_stack()
    policy = s.get("raw-bucket-policy")
    s.resources.remove(policy)
    assert single(s, TLS) == [("raw-bucket", f"bucket 'raw-bucket' has no bucket policy; {EXPECT_TLS}")]
    set_input(s.get("raw-bucket"), "policy", policy.inputs["policy"])
    assert single(s, TLS) == []


# --- access logging -----------------------------------------------------------------------------

def test_a_bucket_without_access_logging_is_reported():
    rs = shipped("prod")
    rs.remove(named(rs, "lake-raw-logging"))
    assert judged(rs, LOGGING) == [("mandatory", "lake-raw", "bucket 'lake-raw' has no server access logging; "
                                                             f"expected a BucketLogging to {EXPECT_LOG_BUCKET}")]


def test_a_bucket_logging_elsewhere_is_reported():
    rs = shipped("prod")
    logging, temp = named(rs, "lake-raw-logging"), named(rs, "lake-temp", T.S3_BUCKET)
    set_input(logging, "targetBucket", temp.inputs["bucket"])
    logging.property_dependencies["targetBucket"] = [temp.urn]
    gold = named(rs, "lake-gold-logging")
    set_input(gold, "targetBucket", "central-access-logs")
    gold.property_dependencies.pop("targetBucket")
    assert judged(rs, LOGGING) == [
        ("mandatory", "lake-gold", f"bucket 'lake-gold' logs to 'central-access-logs'; expected {EXPECT_LOG_BUCKET}"),
        ("mandatory", "lake-raw", f"bucket 'lake-raw' logs to 'lake-temp'; expected {EXPECT_LOG_BUCKET}"),
    ]


def test_without_a_bucket_admitting_log_delivery_every_bucket_is_reported():
    rs = shipped("prod")
    policy = named(rs, "lake-logs-policy")
    doc = json.loads(policy.inputs["policy"])
    doc["Statement"] = [st for st in doc["Statement"] if st["Sid"] != "S3ServerAccessLogDelivery"]
    set_input(policy, "policy", json.dumps(doc))
    found = judged(rs, LOGGING)
    assert len(found) == 7
    assert ("mandatory", "lake-logs", "bucket 'lake-logs' has no server access logging; expected a BucketLogging to "
            "the stack's access-log bucket (none of its buckets admits S3 server access log delivery: a bucket policy "
            "allowing logging.s3.amazonaws.com s3:PutObject)") in found


def test_logging_is_matched_by_names_and_the_bucket_own_logging_counts():
    s = happy_stack()
    for r in s.resources:
        r.property_dependencies, r.dependencies = {}, []
    assert single(s, LOGGING) == []
    logging = s.get("raw-bucket-logging")
    s.resources.remove(logging)
    assert single(s, LOGGING) == [("raw-bucket", "bucket 'raw-bucket' has no server access logging; expected a "
                                                 "BucketLogging to the stack's access-log bucket 'logs-bucket'")]
    set_input(s.get("raw-bucket"), "logging", {"targetBucket": logging.inputs["targetBucket"], "targetPrefix": "x/"})
    assert single(s, LOGGING) == []
