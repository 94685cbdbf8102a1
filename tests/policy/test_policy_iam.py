"""Least-privilege policies: wildcards, managed policies, trust, PassRole, parliament."""

from __future__ import annotations

import json

import pytest
from policy_support import ACCOUNT, doc, happy_stack, single

ACTIONS = "aws-iam-disallow-wildcard-actions"
RESOURCES = "aws-iam-disallow-wildcard-resources"
MANAGED = "aws-iam-disallow-broad-managed-policies"
TRUST = "aws-iam-role-restrict-trust-principals"
PASS_ROLE = "aws-iam-scope-pass-role"
LINT = "aws-iam-policy-lint-parliament"
SCOPE = ("expected the ARNs of the lake's buckets, prefixes, tables, keys and secrets (only the documented "
         "starOnlyActions may use '*')")


def _statements(s, name="job-role-policy"):
    return json.loads(s.get(name).inputs["policy"])["Statement"]


def _set_statements(s, statements, name="job-role-policy"):
    s.get(name).inputs["policy"] = doc(*statements)


def test_happy_stack_is_least_privilege():
    s = happy_stack()
    for name in (ACTIONS, RESOURCES, MANAGED, TRUST, PASS_ROLE, LINT):
        assert single(s, name) == [], name


def test_service_wide_and_full_wildcards_are_reported():
    s = happy_stack()
    st = _statements(s)
    st[2]["Action"] = "s3:*"
    st[3]["Action"] = ["glue:GetTable", "*"]
    st.append({"Sid": "Streams", "Effect": "Allow", "Action": "kinesisvideo:*", "Resource": "arn:aws:kinesisvideo:*"})
    _set_statements(s, st)
    assert single(s, ACTIONS) == [
        ("job-role-policy", "policy statement 'Catalog' allows '*'; expected the specific actions the workload needs"),
        ("job-role-policy", "policy statement 'WriteBronze' allows 's3:*'; expected the specific actions the "
                            "workload needs"),
    ]


def test_wildcards_in_role_inline_policies_and_not_action_are_reported():
    s = happy_stack()
    s.get("job-role").inputs["inlinePolicies"] = [{"name": "extra", "policy": doc(
        {"Sid": "Everything", "Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::x/*"})}]
    assert single(s, ACTIONS) == [
        ("job-role", "inlinePolicies[0].policy statement 'Everything' allows NotAction (every other action); "
                     "expected an explicit Action list")]


def test_deny_statements_may_use_wildcards():
    s = happy_stack()
    st = _statements(s) + [{"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}]
    _set_statements(s, st)
    assert single(s, ACTIONS) == []
    assert single(s, RESOURCES) == []


def test_data_actions_on_star_resources_are_reported():
    s = happy_stack()
    st = _statements(s)
    st[0]["Resource"] = "*"
    st[3]["Resource"] = [f"arn:aws:glue:us-east-1:{ACCOUNT}:catalog", "arn:aws:glue:*:*:*"]
    _set_statements(s, st)
    assert single(s, RESOURCES) == [
        ("job-role-policy", f"policy statement 'Catalog' allows glue:GetDatabase, glue:GetTable, glue:UpdateTable, "
                            f"glue:CreateTable on Resource 'arn:aws:glue:*:*:*'; {SCOPE}"),
        ("job-role-policy", f"policy statement 'ReadRaw' allows s3:GetObject on Resource '*'; {SCOPE}"),
    ]


def test_star_only_actions_need_their_condition_and_nothing_else_may_join_them():
    s = happy_stack()
    st = _statements(s)
    metrics = next(x for x in st if x["Sid"] == "Metrics")
    del metrics["Condition"]
    vpc = next(x for x in st if x["Sid"] == "VpcConnection")
    vpc["Action"].append("ec2:CreateNetworkInterface")
    _set_statements(s, st)
    assert single(s, RESOURCES) == [
        ("job-role-policy", f"policy statement 'Metrics' allows cloudwatch:PutMetricData on Resource '*'; {SCOPE}"),
        ("job-role-policy", f"policy statement 'VpcConnection' allows ec2:CreateNetworkInterface on Resource '*'; "
                            f"{SCOPE}"),
    ]


ANY_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*"
BY_ALIAS = ("expected the key's ARN, or key/* of this account and region with ForAnyValue:StringEquals "
            "kms:ResourceAliases = the key's alias")


def _key_statement(s, **changes):
    """The happy job policy with its key statement changed (None removes a field)."""
    st = _statements(s)
    key = next(x for x in st if x["Sid"] == "Key")
    key.update(changes)
    for field in [f for f, v in changes.items() if v is None]:
        del key[field]
    _set_statements(s, st)


def test_every_key_by_alias_is_scoped_and_passes_parliament():
    s = happy_stack()
    _key_statement(s, Resource=ANY_KEY, Condition={
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/lakehouse-prod-lake"}})
    assert single(s, RESOURCES) == []
    assert single(s, LINT) == []  # kms:ResourceAliases is a condition key of the key resource type
    _key_statement(s, Condition={"ForAnyValue:StringEquals": {
        "kms:ResourceAliases": ["alias/lakehouse-prod-lake", "alias/other"]}, "StringEquals": {
        "kms:ViaService": "s3.us-east-1.amazonaws.com"}})
    assert single(s, RESOURCES) == []


def test_every_key_without_a_named_alias_condition_is_reported():
    s = happy_stack()
    actions = "kms:Decrypt, kms:GenerateDataKey, kms:Encrypt"
    missing = ("without a condition naming the key (ForAnyValue:StringEquals kms:ResourceAliases = its alias, or "
               "aws:ResourceTag/<tag> = a value)")
    cases = [
        ({}, missing),  # no condition at all
        # ForAllValues alone also matches a key without any alias (AWS KMS developer guide)
        ({"ForAllValues:StringEquals": {"kms:ResourceAliases": "alias/lakehouse-prod-lake"}}, missing),
        ({"ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/lakehouse-*"}}, missing),
        ({"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/lakehouse-*"}}, missing),  # a pattern
        ({"ForAnyValue:StringEquals": {"kms:ResourceAliases": "lakehouse-prod-lake"}}, missing),  # not an alias
        ({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}, missing),
    ]
    for condition, why in cases:
        _key_statement(s, Resource=ANY_KEY, Condition=condition or None)
        assert single(s, RESOURCES) == [
            ("job-role-policy", f"policy statement 'Key' allows {actions} on every KMS key '{ANY_KEY}' {why}; "
                                f"{BY_ALIAS}")], condition
    for resource in ("arn:aws:kms:*:*:key/*", f"arn:aws:kms:*:{ACCOUNT}:key/*", "arn:aws:kms:us-east-1::key/*"):
        _key_statement(s, Resource=[resource], Condition={
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/lakehouse-prod-lake"}})
        assert single(s, RESOURCES) == [
            ("job-role-policy", f"policy statement 'Key' allows {actions} on every KMS key '{resource}' in any "
                                f"region or account; {BY_ALIAS}")], resource


def test_a_key_arn_and_an_alias_condition_on_other_services_stay_as_they_were():
    s = happy_stack()
    _key_statement(s, Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})
    assert single(s, RESOURCES) == []  # one key's ARN needs no alias
    st = _statements(s) + [{"Sid": "Aliases", "Effect": "Allow", "Action": "kms:CreateAlias",
                            "Resource": f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/lakehouse-*"}]
    _set_statements(s, st)
    assert single(s, RESOURCES) == []  # an alias ARN is not a key


def test_broad_managed_policy_attachments_are_reported():
    s = happy_stack()
    s.add("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "admin",
          {"role": "job-role", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
    s.add("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "glue-service",
          {"role": "job-role", "policyArn": "arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole"})
    s.add("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "own",
          {"role": "job-role", "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/AmazonS3FullAccess"})
    s.get("job-role").inputs["managedPolicyArns"] = ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]
    tail = "expected an inline or customer-managed policy scoped to the lake's resources"
    assert single(s, MANAGED) == [
        ("admin", "attaches the broad AWS managed policy AdministratorAccess "
                  f"(arn:aws:iam::aws:policy/AdministratorAccess); {tail}"),
        ("glue-service", "attaches the broad AWS managed policy AWSGlueServiceRole "
                         f"(arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole); {tail}"),
        ("job-role", "attaches the broad AWS managed policy AmazonS3FullAccess "
                     f"(arn:aws:iam::aws:policy/AmazonS3FullAccess); {tail}"),
    ]


OWN_ROOT_TAIL = "or its own account's root with aws:PrincipalAccount pinned to it and MFA required"


def test_trust_policy_only_trusts_expected_services():
    s = happy_stack()
    s.get("job-role").inputs["assumeRolePolicy"] = doc(
        {"Sid": "Glue", "Effect": "Allow", "Principal": {"Service": ["glue.amazonaws.com", "ec2.amazonaws.com"]},
         "Action": "sts:AssumeRole"},
        {"Sid": "Anyone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
    tail = ("expected only the service principals glue.amazonaws.com, events.amazonaws.com, "
            f"monitoring.rds.amazonaws.com, vpc-flow-logs.amazonaws.com, states.amazonaws.com, {OWN_ROOT_TAIL}")
    assert single(s, TRUST) == [
        ("job-role", f"trust policy statement 'Anyone' trusts AWS principal '*'; {tail}"),
        ("job-role", f"trust policy statement 'Glue' trusts Service principal 'ec2.amazonaws.com'; {tail}"),
    ]
    assert single(s, TRUST, {TRUST: {"allowedServicePrincipals": ["glue.amazonaws.com", "ec2.amazonaws.com"]}}) == [
        ("job-role", "trust policy statement 'Anyone' trusts AWS principal '*'; expected only the service principals "
                     f"glue.amazonaws.com, ec2.amazonaws.com, {OWN_ROOT_TAIL}")]


def test_the_flow_log_service_is_trusted_by_default_and_an_unknown_service_is_not():
    """The flow-log role GlueRdsConnection makes trusts vpc-flow-logs.amazonaws.com: a service of the stack's
    own roles, in the policy's defaults (no pack config needed); ec2.amazonaws.com, which no role here is
    made for, stays refused with the same empty config."""
    flow_logs = {"Sid": "VpcFlowLogsAssumeRole", "Effect": "Allow", "Action": "sts:AssumeRole",
                 "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                 "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}
    s = happy_stack()
    s.get("job-role").inputs["assumeRolePolicy"] = doc(flow_logs)
    assert single(s, TRUST, {}) == []
    s.get("job-role").inputs["assumeRolePolicy"] = doc(
        flow_logs, {**flow_logs, "Sid": "Instances", "Principal": {"Service": "ec2.amazonaws.com"}})
    assert single(s, TRUST, {}) == [
        ("job-role", "trust policy statement 'Instances' trusts Service principal 'ec2.amazonaws.com'; expected only "
                     "the service principals glue.amazonaws.com, events.amazonaws.com, monitoring.rds.amazonaws.com, "
                     f"vpc-flow-logs.amazonaws.com, states.amazonaws.com, {OWN_ROOT_TAIL}")]


def test_the_stack_configs_leave_the_trusted_services_to_the_policy():
    """The pack's config files set no allowedServicePrincipals: the list lives in the policy alone."""
    from policy.offline import POLICY_DIR

    for stack in ("dev", "prod"):
        raw = json.loads((POLICY_DIR / f"config.{stack}.json").read_text())
        assert "allowedServicePrincipals" not in raw.get(TRUST, {}), stack


@pytest.mark.parametrize("principal, condition, allowed", [
    # the analyst role: its own account, pinned in the statement, with MFA
    (f"arn:aws:iam::{ACCOUNT}:root", {"StringEquals": {"aws:PrincipalAccount": ACCOUNT},
                                      "Bool": {"aws:MultiFactorAuthPresent": "true"}}, True),
    (f"arn:aws:iam::{ACCOUNT}:root", {"Bool": {"aws:MultiFactorAuthPresent": "true"}}, False),  # not pinned
    (f"arn:aws:iam::{ACCOUNT}:root", {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}, False),  # no MFA
    ("arn:aws:iam::210987654321:root", {"StringEquals": {"aws:PrincipalAccount": ACCOUNT},
                                        "Bool": {"aws:MultiFactorAuthPresent": "true"}}, False),  # another account
    (f"arn:aws:iam::{ACCOUNT}:root", {"StringLike": {"aws:PrincipalAccount": "*"},
                                      "Bool": {"aws:MultiFactorAuthPresent": "true"}}, False),  # a wildcard pin
    (f"arn:aws:iam::{ACCOUNT}:user/alice", {"StringEquals": {"aws:PrincipalAccount": ACCOUNT},
                                            "Bool": {"aws:MultiFactorAuthPresent": "true"}}, False),  # not the root
])
def test_an_account_principal_is_trusted_only_as_its_own_account_with_mfa(principal, condition, allowed):
    s = happy_stack()
    s.get("job-role").inputs["assumeRolePolicy"] = doc(
        {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole",
         "Condition": condition})
    found = single(s, TRUST)
    assert (found == []) == allowed, found


def test_pass_role_needs_exact_roles_and_a_service_condition():
    s = happy_stack()
    st = _statements(s) + [
        {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"},
        {"Sid": "PassScoped", "Effect": "Allow", "Action": "iam:Pass*",
         "Resource": f"arn:aws:iam::{ACCOUNT}:role/job-role",
         "Condition": {"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}}]
    _set_statements(s, st)
    assert single(s, PASS_ROLE) == [
        ("job-role-policy", "policy statement 'Pass' allows iam:PassRole on "
                            f"'arn:aws:iam::{ACCOUNT}:role/*'; expected the exact ARNs of the roles to pass"),
        ("job-role-policy", "policy statement 'Pass' allows iam:PassRole without an iam:PassedToService condition; "
                            "expected the service the role is passed to (e.g. glue.amazonaws.com)"),
    ]


def test_parliament_reports_unknown_actions_and_malformed_resources():
    s = happy_stack()
    st = _statements(s)
    st[0]["Action"] = ["s3:GetObjekt"]
    st[1]["Resource"] = ["arn:aws:s3:lakehouse-prod-raw"]
    st[4]["Resource"] = ["arn:aws:s3:::lakehouse-prod-bronze"]  # kms actions on a bucket ARN
    _set_statements(s, st)
    assert single(s, LINT) == [
        ("job-role-policy", "policy: parliament INVALID_ARN: Does not have 6 parts (arn:aws:s3:lakehouse-prod-raw)"),
        ("job-role-policy", "policy: parliament RESOURCE_MISMATCH: kms:Decrypt needs a resource like "
                            "arn:*:kms:*:*:key/*; kms:GenerateDataKey needs a resource like arn:*:kms:*:*:key/*; "
                            "kms:Encrypt needs a resource like arn:*:kms:*:*:key/*"),
        ("job-role-policy", "policy: parliament UNKNOWN_ACTION: Unknown action s3:GetObjekt"),
    ]


def test_a_multi_resource_action_may_be_granted_in_parts_but_every_required_type_somewhere():
    """IAM authorizes each resource of ec2:CreateNetworkInterface (network-interface, subnet,
    optional security-group) against all statements: subnets and groups under a tag condition,
    the new ENI without, is a valid grant; leaving out the subnet is not (it could never run)."""
    eni, tagged = f"arn:aws:ec2:us-east-1:{ACCOUNT}:network-interface/*", {
        "StringEquals": {"aws:ResourceTag/lakehouse:glue-connection": "c"}}
    parts = [
        {"Sid": "Eni", "Effect": "Allow", "Action": "ec2:CreateNetworkInterface",
         "Resource": eni},
        {"Sid": "InItsNetwork", "Effect": "Allow", "Action": "ec2:CreateNetworkInterface", "Condition": tagged,
         "Resource": [f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/*",
                      f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/*"]},
    ]
    s = happy_stack()
    _set_statements(s, _statements(s) + parts)
    assert single(s, LINT) == []
    s = happy_stack()
    _set_statements(s, _statements(s) + parts[:1])
    assert single(s, LINT) == [
        ("job-role-policy", "policy: parliament RESOURCE_MISMATCH: ec2:CreateNetworkInterface needs a resource like "
                            "arn:*:ec2:*:*:subnet/* (no statement grants one)")]


def test_parliament_lints_trust_and_resource_policies_too():
    s = happy_stack()
    s.get("job-role").inputs["assumeRolePolicy"] = doc(
        {"Sid": "Glue", "Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRol"})
    s.get("raw-bucket-policy").inputs["policy"] = "{not json"
    result = single(s, LINT)
    assert result == [
        ("job-role", "assumeRolePolicy: parliament UNKNOWN_ACTION: Unknown action sts:AssumeRol"),
        ("raw-bucket-policy", "policy is not valid JSON (Expecting property name enclosed in double quotes at line 1 "
                              "column 2); expected a JSON IAM policy document"),
    ]


def test_wildcard_expansion_mismatches_are_left_to_the_wildcard_policy():
    s = happy_stack()
    st = _statements(s)
    st[2]["Action"] = "s3:*"
    _set_statements(s, st)
    assert single(s, LINT) == []
