"""Every bucket has versioning `Enabled`: a `BucketVersioning` naming it (by property dependency or bucket
name) with `versioningConfiguration.status` Enabled, or the bucket's own `versioning.enabled`; Suspended or
missing is reported.

Without versioning an overwritten or deleted object is gone (a bad job run, a mistaken delete); the
lifecycle rules already expire non-current versions, so the cost stays bounded.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, is_list, is_map, stack_policy, truthy
from .._stack import StackIndex, block, get
from ._shared import attached, label

EXPECTED = "expected a BucketVersioning with status Enabled"


def _status(config) -> str | None:
    """The configuration's status: "Enabled", "Suspended", "" when unset, None when not known yet."""
    from pulumi_policy.proxy import UnknownValueError

    try:
        value = config.props.get("versioningConfiguration")
        value = value[0] if is_list(value) and value else value
        status = value.get("status") if is_map(value) else None
    except UnknownValueError:
        return None
    return str(status) if status else ""


def _check_versioning(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    s = StackIndex(args.resources)
    for bucket in s.of(*T.BUCKET_TYPES):
        inline = block(get(bucket.props, "versioning"))
        if inline is not None and truthy(get(inline, "enabled")):
            continue
        configs = attached(s, bucket, T.VERSIONING_TYPES)
        statuses = [_status(c) for c in configs]
        if "Enabled" in statuses or None in statuses:
            continue  # enabled, or not known yet (not judged)
        if not configs:
            report(f"{label(bucket)} has no versioning configuration; {EXPECTED}", bucket.urn)
        else:
            report(f"{label(bucket)} versioning is {statuses[0] or 'unset'}; {EXPECTED}", configs[0].urn)


POLICY = stack_policy(
    name="aws-s3-bucket-enable-versioning",
    description="Every S3 bucket keeps object versions (versioning Enabled, not Suspended).",
    severity=Severity.MEDIUM,
    remediation="Give every bucket an aws.s3.BucketVersioning with versioning_configuration status='Enabled' "
                "(SecureBucket does).",
    check=_check_versioning,
    frameworks=("AWS FSBP S3.14",),
    tags=["resilience", "s3"],
)
