"""LakeBuckets / SecureBucket under the SDK's mocks: the key and every setting of every bucket."""

from __future__ import annotations

import json

import pytest
from component_support import ACCOUNT, CTX, REGION, lake_names_fixture, run

from components.lake_buckets import LakeBuckets, LakeBucketsArgs, key_policy_json
from lakehouse.model.config import BucketSettings
from lakehouse.model.iam import bucket_policy, logs_bucket_policy
from lakehouse.model.zones import BUCKET_ROLES

NAMES = lake_names_fixture()
SETTINGS = BucketSettings(force_destroy=False, temp_expiration_days=3, noncurrent_version_expiration_days=45,
                          raw_transition_ia_days=30, raw_transition_glacier_days=200, logs_expiration_days=400)
S3 = "aws:s3/"


def evaluate(settings: BucketSettings = SETTINGS, protect: bool = False, window: int = 14):
    return run(lambda: LakeBuckets("lake", LakeBucketsArgs(NAMES, CTX, settings, window, protect)))


@pytest.fixture(scope="module")
def lake():
    return evaluate()


def key_arn(ev) -> str:
    return ev.get("aws:kms/key:Key", "lake-key").outputs["arn"]


def part(ev, role: str, kind: str, suffix: str):
    return ev.get(f"{S3}{kind}", f"lake-{role}{suffix}")


def test_the_key_rotates_has_an_alias_and_the_stack_key_policy(lake):
    key = lake.get("aws:kms/key:Key", "lake-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 14
    assert json.loads(key.inputs["policy"]) == json.loads(key_policy_json(LakeBucketsArgs(NAMES, CTX, SETTINGS, 14)))
    assert key_arn(lake) == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key.id}"
    alias = lake.get("aws:kms/alias:Alias", "lake-key-alias")
    assert alias.inputs == {"name": "alias/lh-test-lake", "targetKeyId": key.id}
    assert key.protect is False


def test_one_bucket_per_role_each_inside_its_own_component(lake):
    component = lake.get("glue-lakehouse:components:LakeBuckets", "lake")
    buckets = lake.of_type(f"{S3}bucket:Bucket")
    assert sorted(b.inputs["bucket"] for b in buckets) == sorted(NAMES.buckets.values())
    for role in BUCKET_ROLES:
        secure = lake.get("glue-lakehouse:components:SecureBucket", f"lake-{role}")
        assert secure.parent == component.urn
        children = {(c.type, c.name) for c in lake.children(secure)}
        expected = {(f"{S3}bucket:Bucket", f"lake-{role}"),
                    (f"{S3}bucketOwnershipControls:BucketOwnershipControls", f"lake-{role}-ownership"),
                    (f"{S3}bucketPublicAccessBlock:BucketPublicAccessBlock", f"lake-{role}-public-access"),
                    (f"{S3}bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                     f"lake-{role}-encryption"),
                    (f"{S3}bucketVersioning:BucketVersioning", f"lake-{role}-versioning"),
                    (f"{S3}bucketPolicy:BucketPolicy", f"lake-{role}-policy"),
                    (f"{S3}bucketLifecycleConfiguration:BucketLifecycleConfiguration", f"lake-{role}-lifecycle")}
        if role != "logs":
            expected.add((f"{S3}bucketLogging:BucketLogging", f"lake-{role}-logging"))
        assert children == expected


@pytest.mark.parametrize("role", BUCKET_ROLES)
def test_every_bucket_is_encrypted_versioned_private_and_tls_only(lake, role):
    bucket = part(lake, role, "bucket:Bucket", "")
    assert bucket.inputs == {"bucket": NAMES.buckets[role], "forceDestroy": False,
                             "tags": {"lakehouse:bucket-role": role}}  # the pack tells zones apart by it
    for kind, suffix in [("bucketOwnershipControls:BucketOwnershipControls", "-ownership"),
                         ("bucketPublicAccessBlock:BucketPublicAccessBlock", "-public-access"),
                         ("bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                          "-encryption"),
                         ("bucketVersioning:BucketVersioning", "-versioning"),
                         ("bucketPolicy:BucketPolicy", "-policy"),
                         ("bucketLifecycleConfiguration:BucketLifecycleConfiguration", "-lifecycle")]:
        setting = part(lake, role, kind, suffix)
        assert setting.inputs["bucket"] == NAMES.buckets[role]
        assert setting.property_dependencies["bucket"] == [bucket.urn]  # correlates to its bucket
    assert part(lake, role, "bucketOwnershipControls:BucketOwnershipControls", "-ownership").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"}
    block = part(lake, role, "bucketPublicAccessBlock:BucketPublicAccessBlock", "-public-access").inputs
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert {k: block[k] for k in flags} == {
        "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True}
    sse = part(lake, role, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
               "-encryption").inputs
    assert sse["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms",
                                                                    "kmsMasterKeyId": key_arn(lake)},
                             "bucketKeyEnabled": True}]
    assert part(lake, role, "bucketVersioning:BucketVersioning", "-versioning").inputs["versioningConfiguration"] == {
        "status": "Enabled"}
    policy = json.loads(part(lake, role, "bucketPolicy:BucketPolicy", "-policy").inputs["policy"])
    others = [b for r, b in NAMES.buckets.items() if r != "logs"]
    expected = logs_bucket_policy(CTX, NAMES.buckets["logs"], others) if role == "logs" else bucket_policy(
        CTX, NAMES.buckets[role])
    assert policy == expected
    assert policy["Statement"][0]["Sid"] == "DenyInsecureTransport"


@pytest.mark.parametrize("role", [r for r in BUCKET_ROLES if r != "logs"])
def test_access_logs_go_to_the_logs_bucket_once_it_admits_them(lake, role):
    logging = part(lake, role, "bucketLogging:BucketLogging", "-logging")
    assert logging.inputs == {
        "bucket": NAMES.buckets[role],
        "targetBucket": NAMES.buckets["logs"],
        "targetPrefix": f"s3-access/{NAMES.buckets[role]}/",
        "targetObjectKeyFormat": {"partitionedPrefix": {"partitionDateSource": "EventTime"}},
    }
    assert part(lake, "logs", "bucketPolicy:BucketPolicy", "-policy").urn in logging.dependencies


def rules(ev, role: str) -> list[dict]:
    return part(ev, role, "bucketLifecycleConfiguration:BucketLifecycleConfiguration", "-lifecycle").inputs["rules"]


NONCURRENT = {"id": "expire-noncurrent-versions", "status": "Enabled", "filter": {"prefix": ""},
              "noncurrentVersionExpiration": {"noncurrentDays": 45},
              "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}


@pytest.mark.parametrize("role, extra", [
    ("bronze", []), ("silver", []), ("gold", []), ("scripts", []),
    ("temp", [{"id": "expire-temp-objects", "status": "Enabled", "filter": {"prefix": ""}, "expiration": {"days": 3}}]),
    ("logs", [{"id": "expire-logs", "status": "Enabled", "filter": {"prefix": ""}, "expiration": {"days": 400}}]),
    ("raw", [{"id": "raw-zone-transitions", "status": "Enabled", "filter": {"prefix": ""}, "transitions": [
        {"days": 30, "storageClass": "STANDARD_IA"}, {"days": 200, "storageClass": "GLACIER_IR"}]}]),
])
def test_lifecycle_rules_by_bucket_role(lake, role, extra):
    assert rules(lake, role) == [NONCURRENT] + extra


def test_raw_transitions_follow_the_configuration():
    from dataclasses import replace

    only_glacier = evaluate(replace(SETTINGS, raw_transition_ia_days=0, raw_transition_glacier_days=90))
    assert rules(only_glacier, "raw")[1]["transitions"] == [{"days": 90, "storageClass": "GLACIER_IR"}]
    never = evaluate(replace(SETTINGS, raw_transition_ia_days=0, raw_transition_glacier_days=0))
    assert rules(never, "raw") == [NONCURRENT]


def test_force_destroy_and_protection_come_from_the_stack():
    from dataclasses import replace

    dev = evaluate(replace(SETTINGS, force_destroy=True))
    assert {b.inputs["forceDestroy"] for b in dev.of_type(f"{S3}bucket:Bucket")} == {True}
    assert not any(r.protect for r in dev)
    prod = evaluate(protect=True)
    assert {b.inputs["forceDestroy"] for b in prod.of_type(f"{S3}bucket:Bucket")} == {False}
    assert sorted(r.name for r in prod if r.protect) == sorted(["lake-key"] + [f"lake-{r}" for r in BUCKET_ROLES])
