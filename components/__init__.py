"""The Pulumi ComponentResources of glue-lakehouse, one per file, all re-exported here.

Type strings are glue-lakehouse:components:<Name>. Components are thin: names, IAM documents,
job arguments and packaging come from the Pulumi-free `lakehouse.model`; a component only turns
them into resources, parented to itself.
"""

from .ca_bundle import CaBundle, CaBundleArgs
from .data_quality import DataQualityRulesets, DataQualityRulesetsArgs
from .glue_crawler import GlueCrawler, GlueCrawlerArgs
from .glue_job import GlueJob, GlueJobArgs
from .glue_library import GlueLibrary, GlueLibraryArgs
from .glue_rds_connection import GlueRdsConnection, GlueRdsConnectionArgs
from .glue_workflow import GlueWorkflow, GlueWorkflowArgs, enable_raw_eventbridge
from .job_alerts import JobAlerts, JobAlertsArgs
from .lake_analytics import LakeAnalytics, LakeAnalyticsArgs
from .lake_buckets import LakeBuckets, LakeBucketsArgs
from .lake_catalog import LakeCatalog, LakeCatalogArgs
from .lake_monitoring import LakeMonitoring, LakeMonitoringArgs
from .pipeline_state_machine import PipelineStateMachine, PipelineStateMachineArgs
from .secure_bucket import SecureBucket, SecureBucketArgs
from .tagging import standard_tags_transform

__all__ = [
    "CaBundle", "CaBundleArgs", "DataQualityRulesets", "DataQualityRulesetsArgs",
    "GlueJob", "GlueJobArgs", "GlueLibrary", "GlueLibraryArgs",
    "GlueRdsConnection", "GlueRdsConnectionArgs", "GlueWorkflow", "GlueWorkflowArgs", "JobAlerts",
    "JobAlertsArgs", "LakeAnalytics", "LakeAnalyticsArgs", "LakeBuckets", "LakeBucketsArgs", "LakeCatalog",
    "LakeCatalogArgs", "SecureBucket", "SecureBucketArgs", "enable_raw_eventbridge",
    "LakeMonitoring", "LakeMonitoringArgs",
    "standard_tags_transform", "GlueCrawler", "GlueCrawlerArgs", "PipelineStateMachine", "PipelineStateMachineArgs",
]
