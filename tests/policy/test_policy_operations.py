"""Operations and cost guardrails."""

from __future__ import annotations

from policy_support import happy_stack, single

VERSION = "aws-glue-job-allowed-glue-version"
TIMEOUT = "aws-glue-job-configure-timeout"
WORKERS = "aws-glue-job-limit-workers"
LOGGING = "aws-glue-job-enable-continuous-logging"
LOG_PREFIX = "aws-glue-job-configure-custom-log-group-prefix"
RETENTION = "aws-cloudwatch-log-group-configure-retention"
BACKUPS = "aws-rds-instance-configure-backup-retention"
MULTI_AZ = "aws-rds-instance-enable-multi-az"
DELETION = "aws-rds-instance-enable-deletion-protection"


def test_happy_stack_passes_operations_policies():
    s = happy_stack()
    for name in (VERSION, TIMEOUT, WORKERS, LOGGING, LOG_PREFIX, RETENTION, BACKUPS, MULTI_AZ, DELETION):
        assert single(s, name) == [], name


def test_glue_version_must_be_pinned_and_allowed():
    s = happy_stack()
    s.get("fhir-bronze").inputs["glueVersion"] = "3.0"
    del s.get("fhir-silver").inputs["glueVersion"]
    assert single(s, VERSION) == [
        ("fhir-bronze", "glueVersion is '3.0'; expected one of 4.0, 5.0, 5.1"),
        ("fhir-silver", "glueVersion is unset (the service default changes over time); expected one of 4.0, 5.0, 5.1"),
    ]
    assert single(s, VERSION, {VERSION: {"allowedVersions": ["3.0", "5.0"]}}) == [
        ("fhir-silver", "glueVersion is unset (the service default changes over time); expected one of 3.0, 5.0")]


def test_python_shell_jobs_are_out_of_scope_for_version_and_workers():
    s = happy_stack()
    job = s.get("fhir-gold").inputs
    job["command"]["name"] = "pythonshell"
    job["glueVersion"] = "3.0"
    del job["numberOfWorkers"]
    assert single(s, VERSION) == []
    assert single(s, WORKERS) == []


def test_timeout_must_be_set_and_under_the_maximum():
    s = happy_stack()
    s.get("fhir-bronze").inputs["timeout"] = 600.0  # mocks hand numbers back as floats
    del s.get("fhir-gold").inputs["timeout"]
    assert single(s, TIMEOUT) == [
        ("fhir-bronze", "timeout is 600 minutes; expected at most 480 minutes"),
        ("fhir-gold", "timeout is unset (Glue's default runs up to 48 hours); expected at most 480 minutes"),
    ]
    assert single(s, TIMEOUT, {TIMEOUT: {"maxTimeoutMinutes": 100}})[2] == (
        "fhir-silver", "timeout is 120 minutes; expected at most 100 minutes")


def test_workers_are_capped_per_environment():
    s = happy_stack()
    s.get("fhir-silver").inputs["numberOfWorkers"] = 21
    assert single(s, WORKERS) == [("fhir-silver", "numberOfWorkers is 21; expected at most 20 workers")]
    assert single(s, WORKERS, {WORKERS: {"maxWorkers": 50}}) == []
    assert len(single(s, WORKERS, {WORKERS: {"maxWorkers": 9}})) == 3


GLUE4_LOGGING = {"--enable-continuous-cloudwatch-log": "true", "--enable-continuous-log-filter": "true",
                 "--continuous-log-logGroup": "/aws-glue/jobs/lakehouse-prod-fhir-gold"}


def test_continuous_logging_must_be_on_for_glue_4_jobs():
    s = happy_stack()
    s.get("fhir-bronze").inputs["defaultArguments"]["--enable-continuous-cloudwatch-log"] = "false"
    silver = s.get("fhir-silver").inputs
    silver["glueVersion"] = "4.0"  # a Glue 4.0 job with only the Glue 5.0 setting
    gold = s.get("fhir-gold").inputs
    del gold["glueVersion"]  # unset: judged as before Glue 5.0
    del gold["defaultArguments"]
    tail = 'expected defaultArguments --enable-continuous-cloudwatch-log = "true"'
    assert single(s, LOGGING) == [
        ("fhir-bronze", f"continuous logging is off (--enable-continuous-cloudwatch-log is 'false'); {tail}"),
        ("fhir-gold", f"continuous logging is off (--enable-continuous-cloudwatch-log is unset); {tail}"),
        ("fhir-silver", f"continuous logging is off (--enable-continuous-cloudwatch-log is unset); {tail}"),
    ]


def test_glue_5_jobs_need_no_continuous_logging():
    s = happy_stack()
    assert "--enable-continuous-cloudwatch-log" not in s.get("fhir-gold").inputs["defaultArguments"]
    s.get("fhir-silver").inputs["glueVersion"] = "5.1"
    assert single(s, LOGGING) == []


def test_a_glue_5_job_with_only_the_glue_4_flags_logs_to_the_shared_groups():
    s = happy_stack()
    s.get("fhir-gold").inputs["defaultArguments"] = {**GLUE4_LOGGING, "--enable-metrics": "true"}
    assert single(s, LOG_PREFIX) == [(
        "fhir-gold",
        "Glue 5.0 job 'fhir-gold' sets no --custom-logGroup-prefix, so it logs to the account-wide "
        "/aws-glue/jobs/error and /aws-glue/jobs/output groups; expected defaultArguments --custom-logGroup-prefix "
        "= the job's own prefix, with <prefix>/error and <prefix>/output log groups in the stack "
        "(--continuous-log-logGroup, --enable-continuous-cloudwatch-log, --enable-continuous-log-filter are "
        "Glue 4.0 settings)")]
    del s.get("fhir-gold").inputs["defaultArguments"]
    assert single(s, LOG_PREFIX)[0][1].endswith("log groups in the stack")


def test_a_glue_5_log_prefix_must_be_valid_and_name_groups_the_stack_creates():
    s = happy_stack()
    silver = s.get("fhir-silver").inputs["defaultArguments"]
    silver["--custom-logGroup-prefix"] = "/aws-glue/jobs/a:b*"
    s.get("fhir-gold").inputs["defaultArguments"]["--custom-logGroup-prefix"] = "/aws-glue/jobs/elsewhere"
    s.resources.remove(s.get("fhir-silver-logs-output"))
    assert single(s, LOG_PREFIX) == [
        ("fhir-gold", "Glue 5.0 job 'fhir-gold' logs to /aws-glue/jobs/elsewhere/error and "
                      "/aws-glue/jobs/elsewhere/output, but the stack creates neither; expected both as "
                      "aws.cloudwatch.LogGroup resources, so they exist with the stack's KMS key and retention "
                      "before Glue writes to them"),
        ("fhir-silver", "Glue 5.0 job 'fhir-silver' sets --custom-logGroup-prefix '/aws-glue/jobs/a:b*'; expected "
                        "at most 400 characters matching [^:*]* (no ':' or '*')"),
    ]
    silver["--custom-logGroup-prefix"] = "/aws-glue/jobs/" + "x" * 400
    assert single(s, LOG_PREFIX)[1][1].endswith("expected at most 400 characters matching [^:*]* (no ':' or '*')")
    silver["--custom-logGroup-prefix"] = "/aws-glue/jobs/lakehouse-prod-fhir-silver"  # its own: /output is gone
    assert single(s, LOG_PREFIX)[1] == (
        "fhir-silver", "Glue 5.0 job 'fhir-silver' logs to /aws-glue/jobs/lakehouse-prod-fhir-silver/error and "
                       "/aws-glue/jobs/lakehouse-prod-fhir-silver/output, but the stack creates no "
                       "/aws-glue/jobs/lakehouse-prod-fhir-silver/output; expected both as aws.cloudwatch.LogGroup "
                       "resources, so they exist with the stack's KMS key and retention before Glue writes to them")


def test_glue_4_jobs_are_out_of_scope_for_the_log_prefix():
    s = happy_stack()
    bronze = s.get("fhir-bronze").inputs
    assert bronze["glueVersion"] == "4.0" and "--custom-logGroup-prefix" not in bronze["defaultArguments"]
    assert single(s, LOG_PREFIX) == []


def test_log_retention_must_be_set_and_long_enough():
    s = happy_stack()
    del s.get("fhir-bronze-logs").inputs["retentionInDays"]
    s.get("fhir-gold-logs").inputs["retentionInDays"] = 3
    assert single(s, RETENTION) == [
        ("fhir-bronze-logs", "log retention is unset (logs never expire); expected retentionInDays of at least 7 days"),
        ("fhir-gold-logs", "log retention is 3 days; expected at least 7 days"),
    ]
    assert single(s, RETENTION, {RETENTION: {"minimumRetentionDays": 365}})[1] == (
        "fhir-gold-logs", "log retention is 3 days; expected at least 365 days")


def test_production_database_guardrails():
    s = happy_stack()
    db = s.get("db").inputs
    db["backupRetentionPeriod"] = 1
    db["multiAz"] = False
    del db["deletionProtection"]
    assert single(s, BACKUPS) == [
        ("db", "backup retention is 1 days; expected backupRetentionPeriod of at least 7 days")]
    assert single(s, MULTI_AZ) == [("db", "RDS instance runs in a single availability zone; expected multiAz: true")]
    assert single(s, DELETION) == [("db", "RDS deletion protection is off; expected deletionProtection: true")]
    del db["backupRetentionPeriod"]
    assert single(s, BACKUPS, {BACKUPS: {"minimumDays": 14}}) == [
        ("db", "backup retention is unset days; expected backupRetentionPeriod of at least 14 days")]
