"""The AWS branch of lakelib.io.crawled.crawled_partitions (what the deployed extract job runs with
`--raw_database`, the crawler's database), against moto's Glue Data Catalog.

A crawl of real files (the local crawler, infer_table) is put into moto's catalog the way a Glue crawler
writes it (CreateTable, then one CreatePartition per batch folder); read back through GetTable +
GetPartitions, the job must see the same partitions, locations, classifications and columns as the
local branch reads from the runner's record. This proves the request and answer shapes, not the
crawler's own inference, which only AWS runs.
"""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from lakelib.io.crawled import crawled_partitions, infer_table

DATABASE = "lakehouse_dev_raw"
TABLE = "orders_raw_orders"


@pytest.fixture(autouse=True)
def moto_credentials(monkeypatch):
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)


@pytest.fixture()
def crawl_record(spark, tmp_path) -> dict:
    raw = tmp_path / "raw"
    first, second = raw / "orders" / "orders" / "batch-0001", raw / "orders" / "orders" / "batch-0002"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    (first / "part-1.csv").write_text("order_id,quantity,price\n1,2,3.5\n2,1,10.0\n")
    # the second batch adds a column, as the orders sample does
    (second / "part-1.csv").write_text("order_id,quantity,price,channel\n3,4,1.25,web\n")
    return infer_table(spark, raw.resolve().as_uri() + "/", "orders/orders/", DATABASE, TABLE)


def put_like_a_crawler(glue, record: dict) -> None:
    table = {k: v for k, v in record["Table"].items() if k != "DatabaseName"}
    glue.create_database(DatabaseInput={"Name": DATABASE})
    glue.create_table(DatabaseName=DATABASE, TableInput=table)
    for p in record["Partitions"]:
        glue.create_partition(DatabaseName=DATABASE, TableName=TABLE, PartitionInput={
            "Values": p["Values"], "StorageDescriptor": p["StorageDescriptor"], "Parameters": p["Parameters"]})


def test_the_glue_catalog_branch_reads_what_the_local_branch_reads(spark, crawl_record, tmp_path):
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / f"{TABLE}.json").write_text(json.dumps(crawl_record))
    local = crawled_partitions(spark, TABLE, inferred_catalog=str(catalog))

    with mock_aws():
        put_like_a_crawler(boto3.client("glue"), crawl_record)
        on_aws = crawled_partitions(spark, TABLE, crawler_database=DATABASE)

    assert [p.values for p in local] == [("batch-0001",), ("batch-0002",)]
    assert on_aws == local
    assert "channel" in on_aws[1].columns.fieldNames() and "channel" not in on_aws[0].columns.fieldNames()
    assert {p.classification for p in on_aws} == {"csv"}


def test_a_table_the_crawler_has_not_written_names_itself(spark):
    with mock_aws():
        boto3.client("glue").create_database(DatabaseInput={"Name": DATABASE})
        with pytest.raises(Exception, match=TABLE):
            crawled_partitions(spark, TABLE, crawler_database=DATABASE)
