"""The two AWS roles outside the stack that deploy and preview it, as the docs tell users to create them.

- The deploy role (`glue-lakehouse-pulumi-deployments-<stack>`): Pulumi Deployments assumes it
  through Pulumi Cloud's OIDC provider to run `pulumi up` on pushes to main. It trusts exactly one
  OIDC subject, `pulumi:deploy:org:<org>:project:<project>:stack:<stack>:operation:update:scope:write`:
  one stack, and the update operation only. A preview deployment would run a pull request's code
  (the program) with these credentials, so the deploy files do not preview pull requests and the
  role would refuse them anyway.
- The preview role (`glue-lakehouse-preview-<stack>`): the pull-request workflow assumes it through
  GitHub's OIDC provider for pull requests of the repository only, to run `pulumi preview` (refresh
  off). It may make only the read calls a preview makes (the program's provider functions: zones,
  prefix lists, an existing VPC and its subnets); nothing that reads data, decrypts or writes.

Pure functions of names: `python -m lakehouse.ops.deploy_roles` prints them for an account.
"""

from __future__ import annotations

from .config import PROJECT
from .iam import document

PULUMI_OIDC = "api.pulumi.com/oidc"
GITHUB_OIDC = "token.actions.githubusercontent.com"
DEPLOY_OPERATION = "update"  # not preview: a preview runs the code of a pull request
# What `pulumi preview` of this program calls in AWS: the provider functions of __main__.py and
# GlueRdsConnection (getCallerIdentity needs no permission; getRegion/getPartition call nothing).
PREVIEW_READS = (
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribePrefixLists",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
PREVIEW_VPC_READS = ("ec2:DescribeVpcAttribute",)  # the aws.ec2.get_vpc function reads DNS attributes


def deploy_role_name(stack: str) -> str:
    return f"{PROJECT}-pulumi-deployments-{stack}"


def preview_role_name(stack: str) -> str:
    return f"{PROJECT}-preview-{stack}"


def deployments_subject(org: str, stack: str, operation: str, project: str = PROJECT) -> str:
    """The `sub` claim of Pulumi Deployments' OIDC token for one operation on one stack."""
    return f"pulumi:deploy:org:{org}:project:{project}:stack:{stack}:operation:{operation}:scope:write"


def deployments_trust_policy(account_id: str, org: str, stack: str, project: str = PROJECT) -> dict:
    """Trust of the deploy role: Pulumi Deployments of `org`, for `stack`'s updates only."""
    return document({
        "Sid": "PulumiDeploymentsUpdateOnly",
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{account_id}:oidc-provider/{PULUMI_OIDC}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            f"{PULUMI_OIDC}:aud": org,
            f"{PULUMI_OIDC}:sub": deployments_subject(org, stack, DEPLOY_OPERATION, project)}},
    })


def preview_trust_policy(account_id: str, repository: str) -> dict:
    """Trust of the preview role: GitHub Actions runs of `repository` (owner/name) for pull requests."""
    if repository.count("/") != 1 or any(c in repository for c in "*?:"):
        raise ValueError(f"repository: got {repository!r}; allowed: owner/name without wildcards")
    return document({
        "Sid": "GitHubPullRequestsOnly",
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_OIDC}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{GITHUB_OIDC}:aud": "sts.amazonaws.com",
                                       f"{GITHUB_OIDC}:sub": f"repo:{repository}:pull_request"}},
    })


def preview_role_policy(account_id: str, region: str) -> dict:
    """What the preview role may do: the reads a preview makes, nothing else."""
    return document({
        "Sid": "PreviewReads",
        "Effect": "Allow",
        "Action": list(PREVIEW_READS),
        "Resource": "*",  # these Describe calls take no resource-level permissions
    }, {
        "Sid": "PreviewVpcAttributes",
        "Effect": "Allow",
        "Action": list(PREVIEW_VPC_READS),
        "Resource": f"arn:aws:ec2:{region}:{account_id}:vpc/*",
    })
