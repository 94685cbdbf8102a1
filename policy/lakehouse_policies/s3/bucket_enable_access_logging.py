"""Every bucket but the access-log bucket has server access logging to it: a `BucketLogging` naming the bucket
(by property dependency or bucket name), or the bucket's own `logging`, whose `targetBucket` is the stack's
access-log bucket, the bucket whose policy admits the S3 logging service (`logging.s3.amazonaws.com`).

The access-log bucket itself is exempt: a bucket logging into itself writes logs about its logs
forever (AWS's warning). A bucket whose logging target is not known yet is not judged.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, stack_policy
from .._stack import StackIndex, block, get, is_unknown
from ._shared import admits_log_delivery, attached, label, policy_documents

NO_LOG_BUCKET = ("the stack's access-log bucket (none of its buckets admits S3 server access log delivery: a bucket "
                 "policy allowing logging.s3.amazonaws.com s3:PutObject)")


def _check_access_logging(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    s = StackIndex(args.resources)
    buckets = s.of(*T.BUCKET_TYPES)
    log_buckets = [b for b in buckets if admits_log_delivery(policy_documents(s, b)[0])]
    urns = {b.urn for b in log_buckets}
    names = {name for b in log_buckets for name in (get(b.props, "bucket"), get(b.props, "id")) if name}
    wanted = (f"the stack's access-log bucket {', '.join(repr(b.name) for b in log_buckets)}" if log_buckets
              else NO_LOG_BUCKET)
    for bucket in buckets:
        if bucket.urn in urns:
            continue
        loggings = attached(s, bucket, T.LOGGING_TYPES)
        if any(is_unknown(r, "targetBucket") and not (r.property_dependencies or {}).get("targetBucket")
               for r in loggings):
            continue  # not known yet: not judged
        targets = set().union(*(s.refs(r, "targetBucket", T.BUCKET_TYPES) for r in loggings))
        inline = block(get(bucket.props, "logging"))
        if inline is not None and get(inline, "targetBucket"):
            targets.add(get(inline, "targetBucket"))
        if targets & (urns | names):
            continue
        if not targets:
            report(f"{label(bucket)} has no server access logging; expected a BucketLogging to {wanted}", bucket.urn)
        else:
            shown = sorted(s.by_urn[t].name if t in s.by_urn else t for t in targets)
            report(f"{label(bucket)} logs to {', '.join(repr(t) for t in shown)}; expected {wanted}", bucket.urn)


POLICY = stack_policy(
    name="aws-s3-bucket-enable-access-logging",
    description="Every S3 bucket but the access-log bucket logs its requests to the stack's access-log bucket.",
    severity=Severity.MEDIUM,
    remediation="Give every bucket but the logs bucket an aws.s3.BucketLogging with target_bucket the logs bucket "
                "(SecureBucket does, given log_bucket), and admit logging.s3.amazonaws.com in the logs bucket policy "
                "(lakehouse.model.iam.logs_bucket_policy).",
    check=_check_access_logging,
    frameworks=("AWS FSBP S3.9",),
    tags=["logging", "s3"],
)
