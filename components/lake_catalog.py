"""LakeCatalog: the Glue Data Catalog side of the lake and the stack's Glue encryption settings.

- one Glue database per lake zone (bronze, silver, gold; raw too when a crawler catalogs raw
  files) whose LocationUri is the zone bucket root, so an Iceberg table <db>.<table> lives at
  s3://<zone bucket>/<table>/ (the prefix the job policies grant);
- Data Catalog encryption: metadata at rest with the lake key, connection passwords
  returned encrypted with it. These settings exist once per account and region: two
  stacks in one account and region would overwrite each other's (deploy dev and prod to
  separate accounts);
- the Glue security configuration every job runs with: S3 SSE-KMS, CloudWatch Logs SSE-KMS
  and job bookmarks CSE-KMS, all with the lake key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from lakehouse.model.zones import ZONES

TYPE = "glue-lakehouse:components:LakeCatalog"


@dataclass(frozen=True)
class LakeCatalogArgs:
    databases: Mapping[str, str]  # lake zone -> database name
    # zone -> bucket name: one database per zone given (raw too when a crawler catalogs raw files)
    zone_buckets: Mapping[str, pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    security_configuration_name: str
    protect: bool = False  # prod: Pulumi refuses to delete the databases


def location_uri(bucket: str) -> str:
    return f"s3://{bucket}/"


class LakeCatalog(pulumi.ComponentResource):
    databases: dict[str, aws.glue.CatalogDatabase]
    security_configuration: aws.glue.SecurityConfiguration

    def __init__(self, name: str, args: LakeCatalogArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.databases = {
            zone: aws.glue.CatalogDatabase(
                f"{name}-{zone}",
                name=args.databases[zone],
                description=(f"Iceberg tables of the {zone} zone" if zone != "raw"
                             else "Tables the crawlers make over the raw zone's files"),
                location_uri=pulumi.Output.from_input(args.zone_buckets[zone]).apply(location_uri),
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            )
            for zone in ZONES if zone in args.zone_buckets
        }
        self.encryption = aws.glue.DataCatalogEncryptionSettings(
            f"{name}-encryption",
            data_catalog_encryption_settings=aws.glue.DataCatalogEncryptionSettingsDataCatalogEncryptionSettingsArgs(
                encryption_at_rest=aws.glue.DataCatalogEncryptionSettingsDataCatalogEncryptionSettingsEncryptionAtRestArgs(
                    catalog_encryption_mode="SSE-KMS", sse_aws_kms_key_id=args.kms_key_arn),
                connection_password_encryption=aws.glue.DataCatalogEncryptionSettingsDataCatalogEncryptionSettingsConnectionPasswordEncryptionArgs(
                    return_connection_password_encrypted=True, aws_kms_key_id=args.kms_key_arn),
            ),
            opts=child,
        )
        self.security_configuration = aws.glue.SecurityConfiguration(
            f"{name}-jobs",
            name=args.security_configuration_name,
            encryption_configuration=aws.glue.SecurityConfigurationEncryptionConfigurationArgs(
                s3_encryption=aws.glue.SecurityConfigurationEncryptionConfigurationS3EncryptionArgs(
                    s3_encryption_mode="SSE-KMS", kms_key_arn=args.kms_key_arn),
                cloudwatch_encryption=aws.glue.SecurityConfigurationEncryptionConfigurationCloudwatchEncryptionArgs(
                    cloudwatch_encryption_mode="SSE-KMS", kms_key_arn=args.kms_key_arn),
                job_bookmarks_encryption=aws.glue.SecurityConfigurationEncryptionConfigurationJobBookmarksEncryptionArgs(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=args.kms_key_arn),
            ),
            opts=child,
        )
        self.database_names = {zone: db.name for zone, db in self.databases.items()}
        self.security_configuration_name = self.security_configuration.name
        self.register_outputs({
            "databases": self.database_names,
            "securityConfiguration": self.security_configuration_name,
        })
