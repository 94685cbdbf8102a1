"""Workgroups enforce their configuration on every query (`enforceWorkgroupConfiguration`):
results encrypted with a customer-managed key (`SSE_KMS` / `CSE_KMS`), a per-query
`bytesScannedCutoffPerQuery`, a pinned engine version (not `AUTO`) and CloudWatch metrics."""

from __future__ import annotations

from typing import Any, Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import CUSTOMER_KEY, Settings, is_aws_managed_key, is_map, key_ref, resource_policy

ENCRYPTIONS = ("SSE_KMS", "CSE_KMS")
MIN_CUTOFF_BYTES = 10_000_000  # the least Athena accepts


def _map(value: Any) -> Mapping[str, Any]:
    return value if is_map(value) else {}


def _check(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    conf = _map(args.props.get("configuration"))
    if conf.get("enforceWorkgroupConfiguration") is not True:
        report("workgroup lets queries override its settings (results location, encryption, cutoff); "
               "expected configuration.enforceWorkgroupConfiguration: true")
    encryption = _map(_map(conf.get("resultConfiguration")).get("encryptionConfiguration"))
    option = encryption.get("encryptionOption")
    if option not in ENCRYPTIONS:
        report(f"query results are encrypted with {option or 'nothing'}; expected encryptionOption "
               f"{' | '.join(ENCRYPTIONS)} with {CUSTOMER_KEY}")
    else:
        key = key_ref(encryption, "kmsKeyArn")
        if not key or is_aws_managed_key(key):
            report(f"query results use {key or 'no key'}; expected kmsKeyArn = {CUSTOMER_KEY}")
    cutoff = conf.get("bytesScannedCutoffPerQuery")
    if not isinstance(cutoff, (int, float)) or cutoff < MIN_CUTOFF_BYTES:
        report(f"no per-query scan limit (bytesScannedCutoffPerQuery: {cutoff}); expected at least "
               f"{MIN_CUTOFF_BYTES} bytes, set from athenaBytesScannedCutoffMb")
    version = _map(conf.get("engineVersion")).get("selectedEngineVersion")
    if version in (None, "", "AUTO"):
        report(f"engine version is {version or 'unset'} (Athena upgrades it at will); expected a pinned "
               "selectedEngineVersion such as 'Athena engine version 3'")
    if conf.get("publishCloudwatchMetricsEnabled") is not True:
        report("workgroup publishes no CloudWatch metrics; expected publishCloudwatchMetricsEnabled: true")


POLICY = resource_policy(
    name="aws-athena-workgroup-enforce-configuration",
    description="Athena workgroups enforce encrypted results, a scan limit and a pinned engine on every query.",
    severity=Severity.HIGH,
    remediation="configuration: enforceWorkgroupConfiguration true, resultConfiguration.encryptionConfiguration "
                "SSE_KMS with the lake key, bytesScannedCutoffPerQuery, engineVersion pinned, CloudWatch metrics on.",
    types=[T.ATHENA_WORKGROUP],
    check=_check,
    frameworks=(),
    tags=["athena", "encryption", "cost"],
)
