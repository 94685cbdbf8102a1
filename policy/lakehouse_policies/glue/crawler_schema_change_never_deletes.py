"""Every Glue crawler's `schemaChangePolicy.deleteBehavior` is LOG or DEPRECATE_IN_DATABASE, set explicitly: a
crawler that finds a source folder gone (a batch moved, an S3 lifecycle expiry, a typo in a path) then logs it
or marks the table deprecated, instead of deleting the table or its partitions from the Data Catalog under
every job and Athena query reading them (DELETE_FROM_DATABASE).
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, first, known, resource_policy
from .._stack import is_unknown

ALLOWED = ("LOG", "DEPRECATE_IN_DATABASE")
EXPECTED = (f"expected schemaChangePolicy.deleteBehavior {' or '.join(ALLOWED)} (a crawler never deletes from "
            "the catalog)")


def _check_delete_behavior(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if is_unknown(args, "schemaChangePolicy"):
        return
    policy = first(known(args.props, "schemaChangePolicy"))
    behavior = known(policy, "deleteBehavior")
    if behavior is None:
        report(f"the crawler sets no schemaChangePolicy.deleteBehavior (left to the provider's default); {EXPECTED}")
    elif behavior not in ALLOWED:
        report(f"schemaChangePolicy.deleteBehavior is {behavior}: the crawler deletes tables or partitions whose "
               f"source is gone; {EXPECTED}")


POLICY = resource_policy(
    name="aws-glue-crawler-schema-change-never-deletes",
    description="Glue crawlers log (or deprecate) tables and partitions whose source is gone, never delete them "
                "from the Data Catalog.",
    severity=Severity.MEDIUM,
    remediation="Set schema_change_policy={'delete_behavior': 'LOG', 'update_behavior': 'LOG'} (GlueCrawler does).",
    types=[T.GLUE_CRAWLER],
    check=_check_delete_behavior,
    frameworks=(),
    tags=["operations", "glue"],
)
