"""Pulumi components of the glue-lakehouse (one per file) and the pure builders they use.

Component type strings are glue-lakehouse:components:<Name>. Pure, Pulumi-free modules:
naming (physical names), policies (IAM / key / bucket / topic documents), packaging
(deterministic library zip, content-hashed keys), tagging (which types take tags).
"""

from .glue_job import GlueJob, GlueJobArgs
from .glue_library import GlueLibrary, GlueLibraryArgs
from .job_alerts import JobAlerts, JobAlertsArgs
from .lake_buckets import LakeBuckets, LakeBucketsArgs
from .lake_catalog import LakeCatalog, LakeCatalogArgs
from lakehouse.model.names import AwsContext, JobNames, LakeNames, lake_names, name_problems
from .secure_bucket import SecureBucket, SecureBucketArgs

__all__ = [
    "AwsContext", "GlueJob", "GlueJobArgs", "GlueLibrary", "GlueLibraryArgs", "JobAlerts", "JobAlertsArgs",
    "JobNames", "LakeBuckets", "LakeBucketsArgs", "LakeCatalog", "LakeCatalogArgs", "LakeNames", "SecureBucket",
    "SecureBucketArgs", "lake_names", "name_problems",
]
