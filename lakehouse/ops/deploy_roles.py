"""Print the trust and permission policies of the roles that deploy and preview a stack.

    python -m lakehouse.ops.deploy_roles --account 123456789012 --org my-org \
        --repository data-platform/glue-lakehouse --stack prod

What each role may do and why: lakehouse.model.deploy_roles and docs/policy-pack.md ("Deploy and
preview roles"). The deploy role's permissions are the stack's own (docs/policy-pack.md lists them).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from lakehouse.model.deploy_roles import (
    deploy_role_name,
    deployments_trust_policy,
    preview_role_name,
    preview_role_policy,
    preview_trust_policy,
)


def documents(account: str, org: str, repository: str, stack: str, region: str) -> dict:
    return {
        deploy_role_name(stack): {"trust": deployments_trust_policy(account, org, stack)},
        preview_role_name(stack): {"trust": preview_trust_policy(account, repository),
                                   "policy": preview_role_policy(account, region)},
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lakehouse.ops.deploy_roles", description=__doc__.split("\n\n")[0])
    p.add_argument("--account", required=True, help="AWS account id (12 digits)")
    p.add_argument("--org", required=True, help="Pulumi organization")
    p.add_argument("--repository", required=True, help="GitHub repository, owner/name")
    p.add_argument("--stack", required=True, help="stack name, e.g. prod")
    p.add_argument("--region", default="us-east-1", help="AWS region of the stack (default us-east-1)")
    args = p.parse_args(argv)
    if not (args.account.isdigit() and len(args.account) == 12):
        p.error(f"--account: got {args.account!r}; allowed: a 12-digit AWS account id")
    try:
        out = documents(args.account, args.org, args.repository, args.stack, args.region)
    except ValueError as e:
        p.error(str(e))
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
