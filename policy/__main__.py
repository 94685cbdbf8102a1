"""Entry point the Pulumi CLI runs for `--policy-pack policy`: builds the pack, nothing else.

Constructing PolicyPack starts the analyzer's gRPC server and blocks, so nothing may import
this file: tests and `python -m policy.offline` use the `lakehouse_policies` package.
"""

from pulumi_policy import PolicyPack

from lakehouse_policies import DEFAULT_ENFORCEMENT, PACK_DESCRIPTION, PACK_NAME, all_policies

PolicyPack(
    name=PACK_NAME,
    description=PACK_DESCRIPTION,
    enforcement_level=DEFAULT_ENFORCEMENT,
    policies=all_policies(),
)
