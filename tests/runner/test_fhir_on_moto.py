"""The FHIR jobs on the AWS code path: the platform's Iceberg GlueCatalog + S3FileIO, pointed at moto.

moto runs in server mode (`ThreadedMotoServer`, one free port) as the Glue Data Catalog and S3. The
stack's lake is provisioned there as the Pulumi program provisions it: one bucket per role named for
moto's account (`lake_names`) and one Glue database per lake zone whose LocationUri is the zone
bucket (components/lake_catalog.py). Each job then runs with exactly the argument dict its deployed
Glue job gets (`deployed_arguments`: `--catalog glue_catalog`, the zone databases, ...), in a Spark
session carrying exactly the catalog settings of that job's `--conf` (`iceberg_conf`: GlueCatalog,
S3FileIO, the job's warehouse bucket), plus only what points the AWS SDK at moto (endpoints,
path-style S3, region, dummy credentials). Gold must equal the gold of the local runner on the same
sample (the Iceberg Hadoop catalog `local` on a folder).

What this proves, and what only a real deploy proves: docs/testing.md.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest

from lakehouse.model.config import load_stack_config
from lakehouse.model.monitoring import ROW_METRICS, RUN_STARTED_METRIC, metric_dimensions
from lakehouse.model.names import job_names, lake_names
from lakehouse.model.platform import ICEBERG_CATALOG, deployed_arguments
from lakehouse.model.zones import LAKE_ZONES
from lakehouse.runner import cli, executor
from lakehouse.samples import sample_writer
from lakehouse.samples.fhir_reference import COLUMNS
from lakelib.runtime import session as lakelib_session

CFG = load_stack_config("dev")
ACCOUNT = "123456789012"  # moto's default account: bucket names are <prefix>-dev-<role>-<account>
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # moto checks no signature
NAMES = lake_names(CFG, ACCOUNT)
PIPELINE = executor.select_pipeline(CFG, "fhir")
LIBRARY = f"s3://{NAMES.buckets['scripts']}/lib/lakelib.zip"  # an argument only: lakelib comes from the checkout
GOLD = f"{NAMES.databases['gold']}.cms_facility_monthly"
AWS_BUNDLE = "iceberg-aws-bundle-1.7.1.jar"


def parse_conf(value: str) -> dict[str, str]:
    """`iceberg_conf`'s one --conf value ("k=v --conf k=v ...") as Glue splits it: key -> value."""
    return dict(part.split("=", 1) for part in value.split(" --conf "))


def moto_conf(catalog: str, endpoint: str) -> dict[str, str]:
    """What points the catalog's AWS clients (Iceberg's AwsProperties/S3FileIOProperties) at moto."""
    prefix = f"spark.sql.catalog.{catalog}"
    return {
        f"{prefix}.glue.endpoint": endpoint,
        f"{prefix}.s3.endpoint": endpoint,
        f"{prefix}.s3.path-style-access": "true",  # bucket in the path: no <bucket>.127.0.0.1 DNS
        f"{prefix}.client.region": REGION,
        f"{prefix}.s3.access-key-id": CREDENTIALS["aws_access_key_id"],
        f"{prefix}.s3.secret-access-key": CREDENTIALS["aws_secret_access_key"],
    }


def glue_job_session(spark, conf: dict[str, str]):
    """A session sharing the test JVM whose catalogs are the deployed job's --conf (plus moto's
    endpoints). Catalog settings are runtime SQL settings, read when a session first uses the
    catalog; spark.sql.extensions is static and the local session already has Iceberg's."""
    job_session = spark.newSession()
    for key, value in conf.items():
        if key == "spark.sql.extensions":
            assert spark.conf.get(key) == value
            continue
        job_session.conf.set(key, value)
    return job_session


@contextlib.contextmanager
def active(job_session):
    """`job_session` as the JVM thread's active session while a job runs, as the one session of a
    Glue job is. Iceberg's DataFrame source (spark.read.format("iceberg").load("<catalog>.<db>.<t>"),
    lakelib's reads) resolves the catalog name in SparkSession.active(), not in the reading session:
    the test's root session has no glue_catalog, and Iceberg would fall back to its own Hive catalog."""
    jsession = job_session._jvm.org.apache.spark.sql.SparkSession
    previous = jsession.getActiveSession()
    jsession.setActiveSession(job_session._jsparkSession)
    try:
        yield job_session
    finally:
        if previous.isDefined():
            jsession.setActiveSession(previous.get())
        else:
            jsession.clearActiveSession()


def sorted_rows(df) -> list[tuple]:
    return sorted(tuple(r) for r in df.collect())


def assert_same_rows(actual: list[tuple], expected: list[tuple]) -> None:
    """Keys (facility, month) exact, counts exact, rates within 1e-9 relative."""
    assert [r[:2] for r in actual] == [r[:2] for r in expected]
    for a, e in zip(actual, expected):
        for col, x, y in zip(COLUMNS, a, e):
            if isinstance(y, float):
                assert x is not None and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), (a[:2], col, x, y)
            else:
                assert x == y, (a[:2], col, x, y)


# --- moto as the stack's Glue Data Catalog and S3 -----------------------------------------

@pytest.fixture(scope="module")
def moto(spark):
    """moto in server mode on a free port, provisioned like the stack: every bucket, one Glue
    database per lake zone at s3://<zone bucket>/. The JVM's AWS SDK finds the dummy credentials
    in Java system properties (the Glue client has no credential catalog property; the JVM is
    already running, so environment variables set now would not reach it)."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as e:  # moto[server]: flask, flask-cors
        pytest.fail(f"moto's server mode needs moto[server] (flask, flask-cors): {e}")
    if not (lakelib_session.JARS_DIR / AWS_BUNDLE).is_file():
        pytest.fail(f"{lakelib_session.JARS_DIR / AWS_BUNDLE} is missing: run scripts/fetch-jars.sh")
    jvm = spark.sparkContext._jvm
    try:  # on the classpath only when the JVM started after the jar was fetched
        jvm.java.lang.Class.forName("software.amazon.awssdk.services.glue.GlueClient", False,
                                    jvm.java.lang.Thread.currentThread().getContextClassLoader())
    except Exception:
        pytest.fail(f"the test JVM has no {AWS_BUNDLE} on its classpath (fetched after Spark started?)")

    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.ERROR)  # one access-log line per S3/Glue request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    system = jvm.java.lang.System
    # the jobs' boto3 CloudWatch client (lakelib.runtime.metrics, on because the deployed arguments
    # carry --metrics_namespace) reaches moto through the SDK's service endpoint variable
    python_sdk = {"AWS_ENDPOINT_URL_CLOUDWATCH": endpoint, "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
                  "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"], "AWS_DEFAULT_REGION": REGION}
    env = pytest.MonkeyPatch()
    for k, v in python_sdk.items():
        env.setenv(k, v)
    props = {"aws.accessKeyId": CREDENTIALS["aws_access_key_id"],
             "aws.secretAccessKey": CREDENTIALS["aws_secret_access_key"]}
    saved = {k: system.getProperty(k) for k in props}
    try:
        for k, v in props.items():
            system.setProperty(k, v)
        clients = {name: boto3.client(name, endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)
                   for name in ("s3", "glue", "cloudwatch")}
        for bucket in NAMES.buckets.values():
            clients["s3"].create_bucket(Bucket=bucket)
        for zone in LAKE_ZONES:
            clients["glue"].create_database(DatabaseInput={
                "Name": NAMES.databases[zone], "Description": f"Iceberg tables of the {zone} zone",
                "LocationUri": f"s3://{NAMES.buckets[zone]}/"})
        yield {"endpoint": endpoint, **clients}
    finally:
        env.undo()
        for k, v in saved.items():
            if v is None:
                system.clearProperty(k)
            else:
                system.setProperty(k, v)
        try:  # leave no state in moto's process-wide backends for later mock_aws tests
            urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
        finally:
            server.stop()
            werkzeug_log.setLevel(level)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The runner's bundled FHIR sample (what `python -m lakehouse.runner run` generates)."""
    out = tmp_path_factory.mktemp("moto-sample") / "in"
    sample_writer("fhir").write(out)
    return out


@pytest.fixture(scope="module")
def local_gold(spark, sample, tmp_path_factory) -> list[tuple]:
    """Gold of the local runner (Hadoop catalog `local` on a folder) on the same sample."""
    warehouse = tmp_path_factory.mktemp("moto-local") / "wh"
    code = cli.main(["run", "--input", str(sample), "--warehouse", str(warehouse)])
    report = json.loads((warehouse / "_runs" / "latest.json").read_text())
    assert code == 0, report
    g = report["gold"][GOLD]
    assert tuple(g["columns"]) == COLUMNS
    return sorted(tuple(r) for r in g["rows"])


def run_on_aws_path(spark, moto: dict, sample: Path) -> dict:
    """Every job of the pipeline, wave order, each with its deployed arguments and its own session
    holding its deployed --conf; raw stays the local sample folder. A job failure fails the test
    with the job's own exception (executor.run_pipeline would record it and go on)."""
    run_id = f"moto-{int(time.time())}"
    results, gold = {}, []
    for r in executor.plan_runs(PIPELINE):
        job = r.job
        args = deployed_arguments(job, CFG.job_settings[job.key], job_names(CFG, job), NAMES.buckets,
                                  NAMES.databases, LIBRARY)
        assert args["--catalog"] == ICEBERG_CATALOG
        conf = {**parse_conf(args["--conf"]), **moto_conf(ICEBERG_CATALOG, moto["endpoint"])}
        if "--raw_path" in args:  # raw stays local: see the module docstring
            args["--raw_path"] = sample.resolve().as_uri() + "/"
        args["--run_id"] = run_id
        job_session = glue_job_session(spark, conf)
        t0 = time.monotonic()
        with active(job_session):
            results[job.name] = executor.check_result(job, executor.load_script(job)(job_session, args))
            if job.name == "gold":
                gold = sorted_rows(job_session.table(f"{args['--catalog']}.{GOLD}"))
        results[job.name]["seconds"] = round(time.monotonic() - t0, 1)
    return {"jobs": results, "gold": gold}


@pytest.fixture(scope="module")
def aws_run(spark, moto, sample) -> dict:
    t0 = time.monotonic()
    out = run_on_aws_path(spark, moto, sample)
    out["seconds"] = time.monotonic() - t0
    return out


def glue_tables(glue, database: str) -> dict[str, dict]:
    pages = glue.get_paginator("get_tables").paginate(DatabaseName=database)
    return {t["Name"]: t for page in pages for t in page["TableList"]}


def s3_keys(s3, bucket: str, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


# --- the checks ------------------------------------------------------------------------------

def test_gold_through_glue_catalog_and_s3fileio_equals_the_local_gold(aws_run, local_gold):
    assert len(local_gold) >= 10
    assert_same_rows(aws_run["gold"], local_gold)


def test_every_job_reconciles_and_writes_what_it_declares(aws_run):
    """The same contract the local runner checks, on the AWS code path (check_result raised
    otherwise): each job wrote exactly its declared tables."""
    declared = {j.name: sorted(j.declared_writes()) for j in PIPELINE.jobs if not j.is_maintenance}
    assert {name: r["writes"] for name, r in aws_run["jobs"].items()} == declared
    assert aws_run["jobs"]["bronze"]["accepted"] > 0 and aws_run["jobs"]["gold"]["rows"] > 0


def test_each_table_is_an_iceberg_table_in_moto_glue_under_its_zone_bucket(aws_run, moto):
    """Every declared table exists in moto's Glue as an Iceberg table whose metadata file is in
    moto's S3 at s3://<zone bucket>/<table>/metadata/ (the database's LocationUri, not the
    warehouse fallback <warehouse>/<db>.db/<table>), and nothing else was created there."""
    for zone in LAKE_ZONES:
        declared = sorted(t for j in PIPELINE.jobs if not j.is_maintenance for a in j.writes if a.zone == zone
                          for t in a.tables)
        bucket = NAMES.buckets[zone]
        tables = glue_tables(moto["glue"], NAMES.databases[zone])
        assert sorted(tables) == declared, zone
        keys = set(s3_keys(moto["s3"], bucket))
        for name, table in tables.items():
            params = table["Parameters"]
            assert params["table_type"].upper() == "ICEBERG", (zone, name, params)
            location = params["metadata_location"]
            assert location.startswith(f"s3://{bucket}/{name}/metadata/"), (zone, name, location)
            assert location.removeprefix(f"s3://{bucket}/") in keys, (zone, name, location)
        assert {k.split("/", 1)[0] for k in keys} == set(declared), zone  # one prefix per table, no <db>.db/


def test_data_files_are_in_moto_s3(aws_run, moto):
    gold_bucket = NAMES.buckets["gold"]
    data = [k for k in s3_keys(moto["s3"], gold_bucket, "cms_facility_monthly/data/") if k.endswith(".parquet")]
    assert data
    silver = s3_keys(moto["s3"], NAMES.buckets["silver"], "encounters/data/")
    assert any(k.endswith(".parquet") for k in silver)


def test_commits_are_glue_update_table_calls(aws_run, moto):
    """Gold was created (CreateTable) then overwritten (a commit, Glue UpdateTable): its Glue entry's
    metadata_location moved on and Iceberg recorded the one it replaced. moto keeps every version
    although Iceberg asks Glue to skip archiving them (SkipArchive), so the versions show each commit."""
    glue = moto["glue"]
    db, name = GOLD.split(".")
    table = glue.get_table(DatabaseName=db, Name=name)["Table"]
    versions = glue.get_table_versions(DatabaseName=db, TableName=name)["TableVersions"]
    assert len(versions) >= 2
    locations = [v["Table"]["Parameters"]["metadata_location"] for v in versions]
    assert len(set(locations)) == len(locations)
    assert table["Parameters"]["previous_metadata_location"] in locations
    assert table["Parameters"]["metadata_location"] != table["Parameters"]["previous_metadata_location"]


def metric_sum(cloudwatch, namespace: str, name: str, job: str) -> float | None:
    """The Sum of one custom metric under the dimensions the dashboard and alarms use; None if absent."""
    now = datetime.now(timezone.utc)
    dims = [{"Name": k, "Value": v} for k, v in metric_dimensions(CFG.environment, PIPELINE.name, job).items()]
    out = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "m", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dims}, "Period": 7200,
            "Stat": "Sum"}}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(hours=1))
    values = out["MetricDataResults"][0]["Values"]
    return sum(values) if values else None


def test_each_job_publishes_its_reconciled_counts_to_the_stacks_namespace(aws_run, moto):
    """With its deployed arguments every job publishes RunStarted and its reconciled row counts under
    the stack's namespace; read back from moto's CloudWatch, they equal what the job reported."""
    for name, result in aws_run["jobs"].items():
        published = result["metrics_published"]
        assert published["rows"]["status"] == "published", (name, published)
        namespace = published["rows"]["namespace"]
        assert namespace == NAMES.metrics_namespace
        assert metric_sum(moto["cloudwatch"], namespace, RUN_STARTED_METRIC, name) == 1.0
        for key, metric in ROW_METRICS.items():
            expected = result.get(key)
            assert metric_sum(moto["cloudwatch"], namespace, metric, name) == (
                None if expected is None else float(expected)), (name, metric)
