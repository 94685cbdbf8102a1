"""GlueLibrary: the shared Python library of the Glue scripts, uploaded once per stack.

glue_scripts/lakelib is zipped deterministically (lakehouse.model.packaging) and stored at
lib/lakelib-<content hash>.zip in the scripts bucket; every job gets it with
--extra-py-files and may read exactly that object.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_aws as aws

from lakehouse.model.packaging import library_key, library_zip

TYPE = "glue-lakehouse:components:GlueLibrary"


@dataclass(frozen=True)
class GlueLibraryArgs:
    package_dir: Path  # e.g. glue_scripts/lakelib
    bucket: str  # the scripts bucket
    kms_key_arn: pulumi.Input[str]


class GlueLibrary(pulumi.ComponentResource):
    key: str
    uri: str  # s3://<scripts bucket>/lib/<package>-<hash>.zip

    def __init__(self, name: str, args: GlueLibraryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        data = library_zip(args.package_dir)
        self.key = library_key(args.package_dir.name, data)
        self.uri = f"s3://{args.bucket}/{self.key}"
        self.object = aws.s3.BucketObjectv2(
            name,
            bucket=args.bucket,
            key=self.key,
            content_base64=base64.b64encode(data).decode("ascii"),
            content_type="application/zip",
            server_side_encryption="aws:kms",
            kms_key_id=args.kms_key_arn,
            bucket_key_enabled=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"key": self.key, "uri": self.uri})
