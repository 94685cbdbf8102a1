"""Encryption policies: compliant on the happy path, exact message for each violation."""

from __future__ import annotations

import json

from policy_support import KEY_ARN, doc, happy_stack, single

SSE = "aws-s3-bucket-enable-sse-kms-customer-key"
EXPECT_KMS = "expected SSE-KMS (aws:kms) with a customer-managed KMS key"


def test_happy_stack_passes_every_encryption_policy():
    s = happy_stack()
    for name in (SSE, "aws-kms-key-enable-rotation", "aws-kms-key-disallow-wildcard-principal",
                 "aws-glue-security-configuration-enable-kms", "aws-glue-require-security-configuration",
                 "aws-glue-catalog-enable-encryption", "aws-glue-connection-enforce-ssl",
                 "aws-rds-instance-enable-storage-encryption", "aws-sns-topic-enable-kms",
                 "aws-cloudwatch-log-group-enable-kms", "aws-secretsmanager-secret-enable-cmk"):
        assert single(s, name) == [], name


def _sse(s, zone="raw"):
    return s.get(f"{zone}-bucket-sse").inputs["rules"][0]["applyServerSideEncryptionByDefault"]


def test_bucket_with_aes256_is_reported_on_the_bucket():
    s = happy_stack()
    _sse(s)["sseAlgorithm"] = "AES256"
    del _sse(s)["kmsMasterKeyId"]
    assert single(s, SSE) == [("raw-bucket", f"bucket 'raw-bucket' is encrypted with AES256; {EXPECT_KMS}")]


def test_bucket_without_encryption_resource_is_reported():
    s = happy_stack()
    s.resources.remove(s.get("gold-bucket-sse"))
    assert single(s, SSE) == [("gold-bucket", "bucket 'gold-bucket' has no server-side encryption configuration; "
                                              f"{EXPECT_KMS}")]


def test_bucket_with_aws_managed_kms_key_is_reported():
    s = happy_stack()
    del _sse(s, "logs")["kmsMasterKeyId"]
    _sse(s, "temp")["kmsMasterKeyId"] = "alias/aws/s3"
    assert single(s, SSE) == [
        ("logs-bucket", "bucket 'logs-bucket' uses aws:kms without kmsMasterKeyId (the AWS-managed aws/s3 key); "
                        f"{EXPECT_KMS}"),
        ("temp-bucket", f"bucket 'temp-bucket' uses the AWS-managed key alias/aws/s3; {EXPECT_KMS}"),
    ]


def test_encryption_resource_is_matched_by_bucket_name_without_property_dependencies():
    s = happy_stack()
    for r in s.resources:
        r.property_dependencies = {}
        r.dependencies = []
    assert single(s, SSE) == []
    _sse(s, "silver")["sseAlgorithm"] = "AES256"
    assert [n for n, _ in single(s, SSE)] == ["silver-bucket"]


def test_encryption_of_another_bucket_does_not_count():
    s = happy_stack()
    sse = s.get("raw-bucket-sse")
    sse.inputs["bucket"] = "somebody-elses-bucket"
    sse.property_dependencies = {}
    assert [n for n, _ in single(s, SSE)] == ["raw-bucket"]


def test_kms_key_without_rotation_is_reported_and_asymmetric_keys_are_exempt():
    s = happy_stack()
    s.get("lake-key").inputs["enableKeyRotation"] = False
    assert single(s, "aws-kms-key-enable-rotation") == [
        ("lake-key", "KMS key rotation is disabled; expected enableKeyRotation: true")]
    s.get("lake-key").inputs["customerMasterKeySpec"] = "RSA_2048"
    s.get("lake-key").inputs["keyUsage"] = "SIGN_VERIFY"
    assert single(s, "aws-kms-key-enable-rotation") == []


def test_kms_key_policy_with_wildcard_principal_is_reported():
    s = happy_stack()
    s.get("lake-key").inputs["policy"] = doc(
        {"Sid": "Anyone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*"},
        {"Sid": "DenyAll", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"})
    expected = ("expected only named principals (the account root, roles, AWS service principals)")
    assert single(s, "aws-kms-key-disallow-wildcard-principal") == [
        ("lake-key", f"key policy statement #2 allows Principal '*'; {expected}"),
        ("lake-key", f"key policy statement 'Anyone' allows Principal '*'; {expected}"),
    ]


def test_security_configuration_parts_are_each_required():
    s = happy_stack()
    enc = s.get("security-configuration").inputs["encryptionConfiguration"]
    enc["s3Encryption"] = {"s3EncryptionMode": "SSE-S3"}
    enc["cloudwatchEncryption"] = {"cloudwatchEncryptionMode": "DISABLED"}
    del enc["jobBookmarksEncryption"]["kmsKeyArn"]
    assert single(s, "aws-glue-security-configuration-enable-kms") == [
        ("security-configuration", "CloudWatch logs encryption is DISABLED; expected "
                                   "cloudwatchEncryption.cloudwatchEncryptionMode = SSE-KMS with kmsKeyArn"),
        ("security-configuration", "S3 encryption is SSE-S3; expected s3Encryption.s3EncryptionMode = SSE-KMS "
                                   "with kmsKeyArn"),
        ("security-configuration", "job bookmarks encryption is CSE-KMS without kmsKeyArn; expected a "
                                   "customer-managed KMS key"),
    ]


def test_job_and_crawler_without_security_configuration_are_reported():
    s = happy_stack()
    del s.get("fhir-silver").inputs["securityConfiguration"]
    s.get("raw-crawler").inputs["securityConfiguration"] = ""
    assert single(s, "aws-glue-require-security-configuration") == [
        ("fhir-silver", "Glue job has no securityConfiguration; expected the name of a KMS security configuration"),
        ("raw-crawler", "Glue crawler has no securityConfiguration; expected the name of a KMS security "
                        "configuration"),
    ]


def test_catalog_encryption_settings_must_cover_passwords_and_exist():
    s = happy_stack()
    settings = s.get("catalog-encryption").inputs["dataCatalogEncryptionSettings"]
    settings["connectionPasswordEncryption"]["returnConnectionPasswordEncrypted"] = False
    settings["encryptionAtRest"] = {"catalogEncryptionMode": "DISABLED"}
    assert single(s, "aws-glue-catalog-enable-encryption") == [
        ("catalog-encryption", "catalog encryption at rest is DISABLED; expected "
                               "encryptionAtRest.catalogEncryptionMode = SSE-KMS with sseAwsKmsKeyId"),
        ("catalog-encryption", "connection passwords are returned unencrypted; expected "
                               "connectionPasswordEncryption.returnConnectionPasswordEncrypted = true with "
                               "awsKmsKeyId"),
    ]
    s.resources.remove(s.get("catalog-encryption"))
    assert single(s, "aws-glue-catalog-enable-encryption") == [
        ("", "the stack creates Glue catalog resources (4) but no aws.glue.DataCatalogEncryptionSettings; "
             "expected catalog encryption at rest and connection password encryption with KMS")]


def test_jdbc_connection_must_enforce_ssl():
    s = happy_stack()
    props = s.get("db-connection").inputs["connectionProperties"]
    props["JDBC_ENFORCE_SSL"] = "false"
    msg = "expected connectionProperties.JDBC_ENFORCE_SSL = \"true\""
    assert single(s, "aws-glue-connection-enforce-ssl") == [
        ("db-connection", f"JDBC connection does not enforce SSL (JDBC_ENFORCE_SSL is 'false'); {msg}")]
    del props["JDBC_ENFORCE_SSL"]
    assert single(s, "aws-glue-connection-enforce-ssl") == [
        ("db-connection", f"JDBC connection does not enforce SSL (JDBC_ENFORCE_SSL is unset); {msg}")]
    s.get("db-connection").inputs["connectionType"] = "NETWORK"
    assert single(s, "aws-glue-connection-enforce-ssl") == []


def test_jdbc_ssl_is_judged_while_the_url_and_the_secret_are_not_known():
    """A first preview: the RDS endpoint and the RDS-managed secret do not exist yet, so the map
    arrives known with unknown members (GlueRdsConnection hands it over member by member)."""
    from policy_support import run
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    s = happy_stack()
    props = s.get("db-connection").inputs["connectionProperties"]
    props["JDBC_CONNECTION_URL"] = props["SECRET_ID"] = UNKNOWN_STRING_VALUE
    assert [v for v in run(s, ["aws-glue-connection-enforce-ssl"])] == []
    props["JDBC_ENFORCE_SSL"] = "false"
    assert single(s, "aws-glue-connection-enforce-ssl") == [
        ("db-connection", "JDBC connection does not enforce SSL (JDBC_ENFORCE_SSL is 'false'); "
                          "expected connectionProperties.JDBC_ENFORCE_SSL = \"true\"")]
    props["JDBC_ENFORCE_SSL"] = UNKNOWN_STRING_VALUE  # only then is there nothing to judge
    assert [(v.level, v.message) for v in run(s, ["aws-glue-connection-enforce-ssl"])] == [
        ("advisory", "not evaluated: string value at .connectionProperties.JDBC_ENFORCE_SSL can't be known during "
                     "preview")]


def test_rds_storage_must_be_encrypted():
    s = happy_stack()
    s.get("db").inputs["storageEncrypted"] = False
    assert single(s, "aws-rds-instance-enable-storage-encryption") == [
        ("db", "RDS storage is not encrypted; expected storageEncrypted: true with kmsKeyId")]


def test_topic_log_group_and_secret_need_a_customer_key():
    s = happy_stack()
    del s.get("alerts").inputs["kmsMasterKeyId"]
    s.get("fhir-gold-logs").inputs["kmsKeyId"] = ""
    s.get("db-secret").inputs["kmsKeyId"] = "alias/aws/secretsmanager"
    assert single(s, "aws-sns-topic-enable-kms") == [
        ("alerts", "SNS topic is not encrypted with a customer-managed KMS key; expected kmsMasterKeyId set")]
    assert single(s, "aws-cloudwatch-log-group-enable-kms") == [
        ("fhir-gold-logs", "log group is not encrypted with a customer-managed KMS key; expected kmsKeyId set")]
    assert single(s, "aws-secretsmanager-secret-enable-cmk") == [
        ("db-secret", "secret uses the AWS-managed key alias/aws/secretsmanager; expected a customer-managed KMS "
                      "key in kmsKeyId")]


def test_policy_documents_may_be_objects_as_well_as_json_strings():
    s = happy_stack()
    s.get("lake-key").inputs["policy"] = json.loads(
        doc({"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}))
    assert len(single(s, "aws-kms-key-disallow-wildcard-principal")) == 1
    assert KEY_ARN.startswith("arn:aws:kms:")


def test_a_key_arn_not_known_during_preview_counts_as_a_customer_key():
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    s = happy_stack()
    _sse(s)["kmsMasterKeyId"] = UNKNOWN_STRING_VALUE
    s.get("alerts").inputs["kmsMasterKeyId"] = UNKNOWN_STRING_VALUE
    s.get("fhir-gold-logs").inputs["kmsKeyId"] = UNKNOWN_STRING_VALUE
    enc = s.get("security-configuration").inputs["encryptionConfiguration"]
    enc["s3Encryption"]["kmsKeyArn"] = UNKNOWN_STRING_VALUE
    settings = s.get("catalog-encryption").inputs["dataCatalogEncryptionSettings"]
    settings["encryptionAtRest"]["sseAwsKmsKeyId"] = UNKNOWN_STRING_VALUE
    from policy_support import run

    assert run(s) == []


def test_other_unknown_values_make_a_policy_not_evaluated_rather_than_pass():
    from policy_support import run
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    s = happy_stack()
    s.get("job-role-policy").inputs["policy"] = UNKNOWN_STRING_VALUE
    found = sorted((v.policy, v.level, v.message) for v in run(s))
    assert [p for p, _, _ in found] == ["aws-iam-disallow-wildcard-actions", "aws-iam-disallow-wildcard-resources",
                                        "aws-iam-policy-lint-parliament", "aws-iam-scope-pass-role"]
    assert {(lvl, msg) for _, lvl, msg in found} == {
        ("advisory", "not evaluated: string value at .policy can't be known during preview")}
