"""LakeCatalog, JobAlerts and GlueLibrary under the SDK's mocks."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from component_support import ACCOUNT, CTX, FIXTURES, REGION, lake_names_fixture, run

from components.glue_library import GlueLibrary, GlueLibraryArgs
from components.job_alerts import JobAlerts, JobAlertsArgs
from components.lake_catalog import LakeCatalog, LakeCatalogArgs
from lakehouse.model.iam import alerts_topic_policy
from lakehouse.model.packaging import library_key, library_zip

NAMES = lake_names_fixture()
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def catalog(protect: bool = False):
    return run(lambda: LakeCatalog("catalog", LakeCatalogArgs(
        databases=NAMES.databases, zone_buckets={z: NAMES.buckets[z] for z in ("bronze", "silver", "gold")},
        kms_key_arn=KEY, security_configuration_name="lh-test-jobs", protect=protect)))


@pytest.fixture(scope="module")
def cat():
    return catalog()


@pytest.mark.parametrize("zone", ["bronze", "silver", "gold"])
def test_one_database_per_zone_located_at_the_zone_bucket_root(cat, zone):
    db = cat.get("aws:glue/catalogDatabase:CatalogDatabase", f"catalog-{zone}")
    assert db.inputs == {"name": f"lh_test_{zone}", "description": f"Iceberg tables of the {zone} zone",
                         "locationUri": f"s3://lh-test-{zone}-{ACCOUNT}/"}
    assert db.protect is False


def test_catalog_metadata_and_connection_passwords_are_encrypted_with_the_lake_key(cat):
    settings = cat.get("aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings", "catalog-encryption")
    assert settings.inputs["dataCatalogEncryptionSettings"] == {
        "encryptionAtRest": {"catalogEncryptionMode": "SSE-KMS", "sseAwsKmsKeyId": KEY},
        "connectionPasswordEncryption": {"returnConnectionPasswordEncrypted": True, "awsKmsKeyId": KEY},
    }


def test_security_configuration_encrypts_s3_logs_and_bookmarks_with_kms(cat):
    sc = cat.get("aws:glue/securityConfiguration:SecurityConfiguration", "catalog-jobs")
    assert sc.inputs == {"name": "lh-test-jobs", "encryptionConfiguration": {
        "s3Encryption": {"s3EncryptionMode": "SSE-KMS", "kmsKeyArn": KEY},
        "cloudwatchEncryption": {"cloudwatchEncryptionMode": "SSE-KMS", "kmsKeyArn": KEY},
        "jobBookmarksEncryption": {"jobBookmarksEncryptionMode": "CSE-KMS", "kmsKeyArn": KEY},
    }}


def test_databases_are_protected_in_prod():
    protected = sorted(r.name for r in catalog(protect=True) if r.protect)
    assert protected == ["catalog-bronze", "catalog-gold", "catalog-silver"]


# --- alerts --------------------------------------------------------------------------------------

def alerts(email: str = ""):
    return run(lambda: JobAlerts("alerts", JobAlertsArgs(
        topic_name="lh-test-alerts", aws=CTX, kms_key_arn=KEY, rule_names=["lh-test-a-failed", "lh-test-b-failed"],
        email=email)))


def test_alert_topic_is_kms_encrypted_and_only_the_job_rules_may_publish():
    ev = alerts()
    topic = ev.get("aws:sns/topic:Topic", "alerts")
    assert topic.inputs["name"] == "lh-test-alerts" and topic.inputs["kmsMasterKeyId"] == KEY
    arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:lh-test-alerts"
    policy = ev.get("aws:sns/topicPolicy:TopicPolicy", "alerts-policy")
    assert policy.inputs["arn"] == arn
    assert json.loads(policy.inputs["policy"]) == alerts_topic_policy(CTX, arn, [
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/lh-test-a-failed",
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/lh-test-b-failed"])
    assert ev.of_type("aws:sns/topicSubscription:TopicSubscription") == []


def test_an_alert_email_subscribes_to_the_topic():
    sub = alerts("oncall@example.com").get("aws:sns/topicSubscription:TopicSubscription", "alerts-email")
    assert sub.inputs == {"topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:lh-test-alerts", "protocol": "email",
                          "endpoint": "oncall@example.com"}


# --- library -------------------------------------------------------------------------------------

def test_the_library_is_uploaded_once_as_a_deterministic_zip():
    ev = run(lambda: GlueLibrary("lib", GlueLibraryArgs(FIXTURES / "demolib", NAMES.buckets["scripts"], KEY)))
    data = library_zip(FIXTURES / "demolib")
    obj = ev.get("aws:s3/bucketObjectv2:BucketObjectv2", "lib").inputs
    assert {k: v for k, v in obj.items() if k != "contentBase64"} == {
        "bucket": NAMES.buckets["scripts"], "key": library_key("demolib", data), "contentType": "application/zip",
        "serverSideEncryption": "aws:kms", "kmsKeyId": KEY, "bucketKeyEnabled": True}
    uploaded = base64.b64decode(obj["contentBase64"])
    assert uploaded == data
    assert zipfile.ZipFile(io.BytesIO(uploaded)).namelist() == [
        "demolib/__init__.py", "demolib/io/__init__.py", "demolib/io/read.py"]


def test_the_lakelib_zip_carries_its_package_data_readable_with_pkgutil(tmp_path):
    """The climate jobs read lakelib/climate/climate_schema.sql with pkgutil.get_data: it must be in the
    zip Glue gets (--extra-py-files) and readable from there, byte for byte."""
    lakelib = Path(__file__).resolve().parents[2] / "glue_scripts" / "lakelib"
    zip_path = tmp_path / "lakelib.zip"
    zip_path.write_bytes(library_zip(lakelib))
    assert library_zip(lakelib) == zip_path.read_bytes()  # deterministic
    names = zipfile.ZipFile(zip_path).namelist()
    assert "lakelib/climate/climate_schema.sql" in names and "lakelib/runtime/session.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    code = ("import sys, pkgutil; sys.path.insert(0, sys.argv[1]); import lakelib.climate; "
            "assert lakelib.__file__.startswith(sys.argv[1]), lakelib.__file__; "
            "sys.stdout.buffer.write(pkgutil.get_data('lakelib.climate', 'climate_schema.sql'))")
    out = subprocess.run([sys.executable, "-I", "-c", code, str(zip_path)], capture_output=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout == (lakelib / "climate" / "climate_schema.sql").read_bytes()
    assert b"CREATE TABLE IF NOT EXISTS locations" in out.stdout
