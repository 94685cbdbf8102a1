"""The pack's shape: metadata of every policy, the CLI entry point, the per-stack configs, and
the pulumi-aws type tokens and property names the policies rely on."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from policy.lakehouse_policies import (
    SERVICES,
    all_policies,
    frameworks_of,
    policies_by_name,
    policy_modules,
    service_of,
    taggable,
)
from policy.lakehouse_policies import types as T
from policy.lakehouse_policies._common import resource_policy
from policy.offline import POLICY_DIR, configure, load_pack_config

ROOT = Path(__file__).resolve().parents[2]
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

# Policies with a threshold or a list to tune, and the settings their schema declares.
CONFIGURABLE = {
    "aws-resource-require-tags": {"requiredTags"},
    "aws-resource-environment-tag-matches-stack": {"environment"},
    "aws-iam-disallow-wildcard-actions": {"dataServices"},
    "aws-iam-disallow-wildcard-resources": {"starOnlyActions", "resourceTypeServices"},
    "aws-ec2-security-group-disallow-public-ingress": {"publicIpv4PrefixLength", "publicIpv6PrefixLength"},
    "aws-iam-disallow-broad-managed-policies": {"deniedPolicies"},
    "aws-iam-role-restrict-trust-principals": {"allowedServicePrincipals"},
    "aws-iam-policy-lint-parliament": {"issues"},
    "aws-glue-job-allowed-glue-version": {"allowedVersions"},
    "aws-glue-job-configure-timeout": {"maxTimeoutMinutes"},
    "aws-glue-job-limit-workers": {"maxWorkers"},
    "aws-cloudwatch-log-group-configure-retention": {"minimumRetentionDays"},
    "aws-rds-instance-configure-backup-retention": {"minimumDays"},
    "aws-kms-key-configure-deletion-window": {"minimumDeletionWindowDays"},
    "aws-glue-workflow-limit-concurrent-runs": {"maxConcurrentRuns"},
    "aws-glue-gold-table-require-data-quality-ruleset": {"zones"},
    "aws-sfn-state-machine-enable-logging": {"levels"},
}
DEV_ADVISORY = {
    "aws-glue-job-configure-timeout", "aws-glue-job-limit-workers", "aws-glue-job-enable-continuous-logging",
    "aws-glue-job-configure-custom-log-group-prefix",
    "aws-cloudwatch-log-group-configure-retention", "aws-rds-instance-configure-backup-retention",
    "aws-rds-instance-enable-multi-az", "aws-rds-instance-enable-deletion-protection",
}


def _policy_files() -> dict[str, list[str]]:
    """Policy file stems by service directory, read from disk rather than through the pack's discovery."""
    pack = POLICY_DIR / "lakehouse_policies"
    return {d.name: [f.stem for f in d.glob("*.py") if not f.name.startswith("_")]
            for d in sorted(pack.iterdir()) if (d / "__init__.py").is_file()}


def test_every_policy_has_a_stable_name_description_severity_and_remediation():
    policies = all_policies()
    names = [p.name for p in policies]
    # one policy per policy file on disk (a file not discovered, or two files naming one policy, fail here)
    assert len(names) == len(set(names)) == sum(len(files) for files in _policy_files().values())
    for p in policies:
        assert KEBAB.match(p.name) and p.name.startswith("aws-"), p.name
        assert p.description.endswith(".") and len(p.description) > 30, p.name
        assert p.severity is not None, p.name
        assert p.remediation_steps and len(p.remediation_steps) > 20, p.name
        assert isinstance(p, (ResourceValidationPolicy, StackValidationPolicy))


def test_policies_are_one_file_each_grouped_by_service():
    groups = {s.__name__.rsplit(".", 1)[1]: [p.name for p in s.POLICIES] for s in SERVICES}
    # each service package holds one policy per policy file of its directory (each named after its file: below)
    assert {k: len(v) for k, v in groups.items()} == {k: len(v) for k, v in _policy_files().items()}
    assert all(name.startswith("aws-iam-") for name in groups["iam"])
    for module in policy_modules():
        # <service>/<rest of the name>.py: aws-s3-bucket-... lives in s3/bucket_....py
        service, stem = service_of(module), module.__name__.rsplit(".", 1)[1]
        rest = module.POLICY.name.removeprefix("aws-").removeprefix(f"{service}-")
        assert stem == rest.replace("-", "_"), (module.__name__, module.POLICY.name)
    assert [p.name for p in all_policies()] == [m.POLICY.name for s in SERVICES for m in s.MODULES]


def _import_pack(root: Path, code: str) -> subprocess.CompletedProcess:
    """Import a copy of the pack as the Pulumi CLI does (lakehouse_policies from policy/)."""
    return subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, sys.argv[1]); {code}", str(root)],
                          capture_output=True, text=True, timeout=120)


NEW_POLICY = """
\"\"\"An example policy file: checks nothing.\"\"\"

from pulumi_policy import Severity

from .._common import resource_policy

POLICY = resource_policy(
    name="aws-s3-bucket-example", description="An example policy added by a test.", severity=Severity.LOW,
    remediation="Nothing to do: the test removes it.", types=["aws:s3/bucket:Bucket"],
    check=lambda args, report, settings: None, frameworks=("AWS FSBP S3.9",), tags=["s3"])
"""


def test_adding_a_file_adds_a_policy_and_a_service(tmp_path):
    shutil.copytree(POLICY_DIR / "lakehouse_policies", tmp_path / "lakehouse_policies",
                    ignore=shutil.ignore_patterns("__pycache__"))
    pack = tmp_path / "lakehouse_policies"
    (pack / "s3" / "bucket_example.py").write_text(NEW_POLICY)
    (pack / "s3" / "_helpers.py").write_text("X = 1\n")  # shared helpers: not a policy
    (pack / "sqs").mkdir()
    (pack / "sqs" / "__init__.py").write_text((pack / "sns" / "__init__.py").read_text())
    (pack / "sqs" / "queue_example.py").write_text(NEW_POLICY.replace("aws-s3-bucket-example", "aws-sqs-queue-example"))
    done = _import_pack(tmp_path, "import lakehouse_policies as lp; print(len(lp.all_policies())); "
                                  "print(lp.frameworks_of(lp.policies_by_name()['aws-s3-bucket-example'])); "
                                  "print([s.__name__ for s in lp.SERVICES][-3:])")
    assert done.returncode == 0, done.stderr
    services = ["lakehouse_policies.sns", "lakehouse_policies.sqs", "lakehouse_policies.tagging"]
    assert done.stdout.split("\n")[:3] == [str(len(all_policies()) + 2), "('AWS FSBP S3.9',)", str(services)]

    (pack / "s3" / "not_a_policy.py").write_text("X = 1\n")
    done = _import_pack(tmp_path, "import lakehouse_policies")
    assert done.returncode != 0 and "lakehouse_policies.s3.not_a_policy defines no POLICY" in done.stderr
    (pack / "s3" / "not_a_policy.py").unlink()
    (pack / "s3" / "bucket_copy.py").write_text(NEW_POLICY)
    done = _import_pack(tmp_path, "import lakehouse_policies")
    assert done.returncode != 0 and "policy aws-s3-bucket-example is defined by both" in done.stderr


def test_frameworks_are_tags_of_the_policy_in_a_known_form():
    for p in all_policies():
        assert all(re.match(r"^(AWS FSBP [A-Za-z]+[0-9]*\.\d+|CIS AWS v3\.0\.0 \d+(\.\d+)+)$", f)
                   for f in frameworks_of(p)), p.name
        assert len(set(frameworks_of(p))) == len(frameworks_of(p)), p.name
    by_name = policies_by_name()
    assert frameworks_of(by_name["aws-s3-bucket-configure-public-access-block"]) == ("AWS FSBP S3.8",
                                                                                     "CIS AWS v3.0.0 2.1.4")
    assert by_name["aws-s3-bucket-configure-public-access-block"].tags == [
        "exposure", "s3", "framework:AWS FSBP S3.8", "framework:CIS AWS v3.0.0 2.1.4"]
    assert frameworks_of(by_name["aws-resource-require-tags"]) == ()
    kwargs = dict(name="aws-x-y", description="Something is checked.", severity=None, remediation="Fix it.",
                  types=None, check=lambda *_: None)
    for wrong in (["FSBP S3.8"], ["AWS FSBP S3"], ["CIS 2.1.4"], "AWS FSBP S3.8"):
        with pytest.raises(ValueError, match="frameworks"):
            resource_policy(**kwargs, frameworks=wrong)


def test_thresholds_have_a_config_schema_with_defaults():
    for p in all_policies():
        declared = set(p.config_schema.properties) if p.config_schema else set()
        assert declared == CONFIGURABLE.get(p.name, set()), p.name
        for key, spec in (p.config_schema.properties.items() if p.config_schema else []):
            assert "default" in spec and "type" in spec and spec.get("description"), (p.name, key)


def test_policies_apply_schema_defaults_when_the_engine_passes_no_config():
    from policy_support import happy_stack, run
    from pulumi_policy import ResourceValidationArgs

    s = happy_stack()
    s.get("fhir-gold").inputs["numberOfWorkers"] = 25
    r = s.get("fhir-gold")
    direct: list[str] = []
    args = ResourceValidationArgs(r.type, r.inputs, r.urn, r.name, None, None, None, {})
    policies_by_name()["aws-glue-job-limit-workers"].validate(args, lambda m, u=None: direct.append(m))
    assert direct == ["numberOfWorkers is 25; expected at most 20 workers"]
    assert [v.message for v in run(s, ["aws-glue-job-limit-workers"])] == direct


def test_pack_entry_point_only_builds_the_pack():
    tree = ast.parse((POLICY_DIR / "__main__.py").read_text())
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert {n.module for n in imports if isinstance(n, ast.ImportFrom)} == {"lakehouse_policies", "pulumi_policy"}
    calls = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
    assert len(calls) == 2  # the docstring and the PolicyPack(...) call
    call = calls[1].value
    assert isinstance(call, ast.Call) and call.func.id == "PolicyPack"
    assert {k.arg for k in call.keywords} == {"name", "description", "enforcement_level", "policies"}


def test_offline_runner_never_imports_the_pack_entry_point():
    """policy.offline runs the entry point only as the CLI does, in the pack's own process
    (`python -m pulumi.policy <address> policy/`); in-process, constructing PolicyPack would block."""
    import policy.offline  # noqa: F401

    entry = str(POLICY_DIR / "__main__.py")
    assert "policy.__main__" not in sys.modules
    assert entry not in {str(getattr(m, "__file__", "") or "") for m in list(sys.modules.values())}
    src = (POLICY_DIR / "offline.py").read_text() + (POLICY_DIR / "docs.py").read_text() + "".join(
        p.read_text() for p in (POLICY_DIR / "lakehouse_policies").rglob("*.py"))
    assert not re.search(r"^\s*(from\s+\S*__main__|import\s+\S*__main__)|run_path|runpy", src, re.M)


def test_pulumi_policy_yaml_and_requirements_match_the_project_pins():
    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    assert re.match(r"^\d+\.\d+\.\d+$", project["version"])
    pins = dict(line.split("==") for line in (POLICY_DIR / "requirements.txt").read_text().splitlines()
                if line and not line.startswith("#"))
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    project_pins = dict(d.split("==") for d in deps)
    assert pins == {k: project_pins[k] for k in ("pulumi", "pulumi-policy", "parliament", "setuptools")}
    assert (POLICY_DIR / ".gitignore").read_text().split() == ["venv/"]


def _levels(stack: str) -> dict[str, str]:
    return {c.policy.name: c.level.value for c in configure(all_policies(), load_pack_config(
        POLICY_DIR / f"config.{stack}.json"))}


def test_prod_config_makes_every_policy_mandatory():
    assert set(_levels("prod").values()) == {"mandatory"}
    prod = {c.policy.name: c.config
            for c in configure(all_policies(), load_pack_config(POLICY_DIR / "config.prod.json"))}
    assert prod["aws-glue-job-limit-workers"] == {"maxWorkers": 50}
    assert prod["aws-cloudwatch-log-group-configure-retention"] == {"minimumRetentionDays": 365}
    assert prod["aws-rds-instance-configure-backup-retention"] == {"minimumDays": 7}
    assert prod["aws-resource-environment-tag-matches-stack"] == {"environment": "prod"}


def test_dev_config_is_advisory_for_cost_and_resilience_only():
    levels = _levels("dev")
    assert {n for n, lvl in levels.items() if lvl == "advisory"} == DEV_ADVISORY
    assert {n for n, lvl in levels.items() if lvl == "mandatory"} == set(levels) - DEV_ADVISORY


def test_config_files_use_the_cli_format():
    for stack in ("dev", "prod"):
        raw = json.loads((POLICY_DIR / f"config.{stack}.json").read_text())
        assert raw["all"] == "mandatory"
        for name, entry in raw.items():
            if name != "all":
                assert name in policies_by_name() and isinstance(entry, dict)
                assert entry.get("enforcementLevel", "mandatory") in {lvl.value for lvl in EnforcementLevel}


def _registered_tokens() -> tuple[set[str], set[str]]:
    import pulumi_aws

    root = Path(pulumi_aws.__file__).parent
    tokens, aliases = set(), set()
    for path in root.rglob("*.py"):
        src = path.read_text(encoding="utf-8")
        tokens.update(taggable._TOKEN_RE.findall(src))
        aliases.update(re.findall(r'pulumi\.Alias\(type_="(aws:[^"]+)"\)', src))
    return tokens, aliases


def test_type_tokens_exist_in_the_installed_pulumi_aws():
    tokens, aliases = _registered_tokens()
    constants = {k: v for k, v in vars(T).items() if isinstance(v, str) and v.startswith("aws:")}
    legacy = {k for k in constants if k.endswith("_LEGACY")}
    for k, v in constants.items():
        assert v in (aliases if k in legacy else tokens), (k, v)


# (module under pulumi_aws, wire names of the inputs the policies read)
PROPERTIES = [
    ("s3/bucket.py", ["bucket", "tags", "serverSideEncryptionConfiguration"]),
    ("s3/_inputs.py", ["applyServerSideEncryptionByDefault", "sseAlgorithm", "kmsMasterKeyId"]),
    ("s3/bucket_server_side_encryption_configuration.py", ["bucket", "rules"]),
    ("s3/bucket_public_access_block.py", ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"]),
    ("kms/key.py", ["enableKeyRotation", "keyUsage", "customerMasterKeySpec", "policy"]),
    ("glue/security_configuration.py", ["encryptionConfiguration"]),
    ("glue/_inputs.py", ["s3Encryption", "s3EncryptionMode", "cloudwatchEncryption", "cloudwatchEncryptionMode",
                         "jobBookmarksEncryption", "jobBookmarksEncryptionMode", "kmsKeyArn", "encryptionAtRest",
                         "catalogEncryptionMode", "sseAwsKmsKeyId", "connectionPasswordEncryption",
                         "returnConnectionPasswordEncrypted", "awsKmsKeyId"]),
    ("glue/data_catalog_encryption_settings.py", ["dataCatalogEncryptionSettings"]),
    ("glue/job.py", ["securityConfiguration", "glueVersion", "timeout", "numberOfWorkers", "defaultArguments",
                     "command"]),
    ("glue/crawler.py", ["securityConfiguration"]),
    ("glue/connection.py", ["connectionType", "connectionProperties"]),
    ("rds/instance.py", ["storageEncrypted", "publiclyAccessible", "backupRetentionPeriod", "multiAz",
                         "deletionProtection", "replicateSourceDb"]),
    ("sns/topic.py", ["kmsMasterKeyId", "policy"]),
    ("cloudwatch/log_group.py", ["kmsKeyId", "retentionInDays"]),
    ("secretsmanager/secret.py", ["kmsKeyId"]),
    ("iam/role.py", ["assumeRolePolicy", "inlinePolicies", "managedPolicyArns"]),
    ("iam/role_policy_attachment.py", ["policyArn"]),
    ("iam/role_policy_attachments_exclusive.py", ["policyArns"]),
    ("ec2/security_group.py", ["ingress"]),
    ("ec2/_inputs.py", ["cidrBlocks", "ipv6CidrBlocks", "fromPort", "toPort", "protocol"]),
    ("ec2/security_group_rule.py", ["type", "cidrBlocks", "ipv6CidrBlocks"]),
    ("vpc/security_group_ingress_rule.py", ["cidrIpv4", "cidrIpv6", "ipProtocol"]),
    ("cloudwatch/log_resource_policy.py", ["policyDocument"]),
    # aws-glue-connection-services-reachable
    ("glue/job.py", ["connections", "roleArn"]),
    ("glue/connection.py", ["physicalConnectionRequirements"]),
    ("glue/_inputs.py", ["subnetId", "securityGroupIdLists"]),
    ("iam/role_policy.py", ["role", "policy"]),
    ("ec2/vpc_endpoint.py", ["serviceName", "vpcEndpointType", "privateDnsEnabled", "subnetIds", "securityGroupIds",
                             "routeTableIds", "prefixListId", "vpcId"]),
    ("ec2/subnet.py", ["vpcId"]),
    ("ec2/vpc.py", ["cidrBlock"]),
    ("ec2/route_table_association.py", ["subnetId", "routeTableId"]),
    ("ec2/route_table.py", ["routes"]),
    ("ec2/_inputs.py", ["natGatewayId", "cidrBlock", "securityGroups", "prefixListIds", "self"]),
    ("ec2/route.py", ["routeTableId", "destinationCidrBlock", "natGatewayId"]),
    ("vpc/security_group_egress_rule.py", ["securityGroupId", "referencedSecurityGroupId", "prefixListId",
                                           "cidrIpv4", "ipProtocol", "fromPort", "toPort"]),
    ("ec2/security_group_rule.py", ["securityGroupId", "sourceSecurityGroupId", "prefixListIds", "protocol",
                                    "self"]),
    ("ec2/security_group.py", ["egress"]),
    # the bucket settings of issue 17: versioning, ACLs, TLS-only policy, access logging
    ("s3/bucket.py", ["versioning", "acl", "grants", "logging", "policy"]),
    ("s3/_inputs.py", ["enabled", "targetBucket", "uri", "permissions", "objectOwnership", "grantee", "permission"]),
    ("s3/bucket_versioning.py", ["bucket", "versioningConfiguration"]),
    ("s3/bucket_ownership_controls.py", ["bucket", "rule"]),
    ("s3/bucket_acl.py", ["acl", "accessControlPolicy", "bucket"]),
    ("s3/bucket_logging.py", ["bucket", "targetBucket"]),
    ("s3/bucket_policy.py", ["bucket", "policy"]),
    ("kms/key.py", ["deletionWindowInDays"]),
    ("rds/instance.py", ["manageMasterUserPassword", "masterUserSecretKmsKeyId", "password"]),
    ("glue/trigger.py", ["type", "schedule", "actions", "predicate", "workflowName"]),
    ("glue/_inputs.py", ["jobName", "crawlerName", "conditions"]),
    ("glue/workflow.py", ["maxConcurrentRuns", "name"]),
    ("cloudwatch/event_rule.py", ["eventPattern", "scheduleExpression"]),
    ("cloudwatch/event_target.py", ["arn", "roleArn", "rule"]),
    ("ec2/flow_log.py", ["vpcId", "trafficType", "logDestinationType", "logDestination", "iamRoleArn"]),
    ("ec2/vpc_endpoint.py", ["policy"]),
    ("ec2/default_security_group.py", ["vpcId", "ingress", "egress"]),
]


def test_property_names_are_the_provider_wire_names():
    import pulumi_aws

    root = Path(pulumi_aws.__file__).parent
    for module, props in PROPERTIES:
        src = (root / module).read_text(encoding="utf-8")
        for prop in props:
            camel = f'@pulumi.getter(name="{prop}")' in src
            # (deprecated v6-style bucket inputs carry a @_utilities.deprecated(...) between the two)
            plain = prop.islower() and re.search(rf"@pulumi\.getter\n(\s+@_utilities\.deprecated\(.*\)\n)?"
                                                 rf"\s+def {prop}\(", src)
            assert camel or plain, (module, prop)


def test_taggable_types_are_current_for_the_installed_pulumi_aws():
    data = json.loads(taggable.DATA_FILE.read_text())
    from importlib.metadata import version

    assert data["pulumi-aws"] == version("pulumi-aws")
    assert data["types"] == taggable.scan_pulumi_aws()
    assert {T.S3_BUCKET, T.GLUE_JOB, T.KMS_KEY, T.LOG_GROUP, T.RDS_INSTANCE} <= set(data["types"])
    assert not {T.S3_SSE, T.IAM_ROLE_POLICY, T.GLUE_SECURITY_CONFIGURATION} & set(data["types"])
