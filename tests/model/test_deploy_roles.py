"""The roles outside the stack that deploy and preview it: who may assume them, what they may do."""

from __future__ import annotations

import json

import pytest

from lakehouse.model.deploy_roles import (
    GITHUB_OIDC,
    PULUMI_OIDC,
    deployments_subject,
    deployments_trust_policy,
    preview_role_policy,
    preview_trust_policy,
)
from lakehouse.ops import deploy_roles as cli
from policy.lakehouse_policies.iam.policy_lint_parliament import lint

ACCOUNT, ORG, REPO = "123456789012", "acme", "data-platform/glue-lakehouse"


def access_levels(policy: dict) -> set[str]:
    """parliament's access level (List, Read, Write, Permissions management, Tagging) of every action."""
    from parliament import iam_definition

    levels = set()
    for st in policy["Statement"]:
        for action in st["Action"]:
            service, name = action.split(":")
            [svc] = [s for s in iam_definition if s["prefix"] == service]
            [priv] = [p for p in svc["privileges"] if p["privilege"] == name]
            levels.add(priv["access_level"])
    return levels


def test_the_deploy_role_trusts_pulumi_deployments_of_one_stack_for_updates_only():
    trust = deployments_trust_policy(ACCOUNT, ORG, "prod")
    [st] = trust["Statement"]
    assert st["Principal"] == {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{PULUMI_OIDC}"}
    assert st["Action"] == "sts:AssumeRoleWithWebIdentity"
    # StringEquals on the exact subject: neither a preview (a pull request's code) nor another stack matches
    assert st["Condition"] == {"StringEquals": {
        f"{PULUMI_OIDC}:aud": ORG,
        f"{PULUMI_OIDC}:sub": "pulumi:deploy:org:acme:project:glue-lakehouse:stack:prod:operation:update:scope:write"}}
    granted = st["Condition"]["StringEquals"][f"{PULUMI_OIDC}:sub"]
    assert deployments_subject(ORG, "prod", "preview") != granted
    assert deployments_subject(ORG, "dev", "update") != granted


def test_the_preview_role_trusts_pull_request_runs_of_the_repository_only():
    [st] = preview_trust_policy(ACCOUNT, REPO)["Statement"]
    assert st["Principal"] == {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB_OIDC}"}
    assert st["Condition"] == {"StringEquals": {f"{GITHUB_OIDC}:aud": "sts.amazonaws.com",
                                                f"{GITHUB_OIDC}:sub": f"repo:{REPO}:pull_request"}}
    for bad in ("data-platform/*", "glue-lakehouse", "a/b/c"):
        with pytest.raises(ValueError, match="owner/name without wildcards"):
            preview_trust_policy(ACCOUNT, bad)


def test_the_preview_role_only_reads_what_a_preview_reads():
    policy = preview_role_policy(ACCOUNT, "us-east-1")
    assert access_levels(policy) <= {"List", "Read"}
    actions = {a for st in policy["Statement"] for a in st["Action"]}
    assert {a.split(":")[0] for a in actions} == {"ec2"}  # no data service: s3, kms, secretsmanager, glue
    assert access_levels({"Statement": [{"Action": ["s3:PutObject"]}]}) == {"Write"}  # the check can fail


def oidc_gaps(provider: str) -> list[str]:
    """What parliament cannot know of a trust in an account's own OIDC identity provider: the
    provider (it knows only AWS's federation sources) and its `<provider>:aud` / `:sub` keys,
    which AWS documents for every OIDC provider. Anything else it finds is a real finding."""
    return [f"UNKNOWN_FEDERATION_SOURCE: arn:aws:iam::{ACCOUNT}:oidc-provider/{provider}",
            f"UNKNOWN_CONDITION_FOR_ACTION: Unknown condition {provider}:aud for action sts:AssumeRoleWithWebIdentity",
            f"UNKNOWN_CONDITION_FOR_ACTION: Unknown condition {provider}:sub for action sts:AssumeRoleWithWebIdentity"]


@pytest.mark.parametrize("kind, doc, expected", [
    ("trust", deployments_trust_policy(ACCOUNT, ORG, "prod"), oidc_gaps(PULUMI_OIDC)),
    ("trust", preview_trust_policy(ACCOUNT, REPO), oidc_gaps(GITHUB_OIDC)),
    ("identity", preview_role_policy(ACCOUNT, "us-east-1"), []),
])
def test_the_documents_pass_the_packs_iam_lint(kind, doc, expected):
    assert sorted(lint(doc, kind)) == sorted(expected)


def test_the_cli_prints_both_roles_documents(capsys):
    assert cli.main(["--account", ACCOUNT, "--org", ORG, "--repository", REPO, "--stack", "prod"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "glue-lakehouse-pulumi-deployments-prod": {"trust": deployments_trust_policy(ACCOUNT, ORG, "prod")},
        "glue-lakehouse-preview-prod": {"trust": preview_trust_policy(ACCOUNT, REPO),
                                        "policy": preview_role_policy(ACCOUNT, "us-east-1")}}


def test_the_cli_names_a_bad_argument(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--account", "12", "--org", ORG, "--repository", REPO, "--stack", "prod"])
    assert e.value.code == 2
    assert "--account: got '12'; allowed: a 12-digit AWS account id" in capsys.readouterr().err
