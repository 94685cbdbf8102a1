"""The role a Step Functions state machine runs as (its `roleArn`) grants Glue and Step Functions actions
only on named resources: every Resource of an Allow statement with a `glue:` or `states:` action (or `*`) is
a full ARN without a wildcard (its jobs, its crawler), not `*`, not `job/*`, not `job/lakehouse-*`. A
state machine that may start any job of the account runs whatever an edit of its definition names.

Its log delivery and X-Ray statements stay on `*` (those actions have no resource-level permissions); they
hold no glue or states action, so they are not judged here. A role is the state machine's by its
`roleArn` (property dependency while unknown).
"""

from __future__ import annotations

from typing import Any, Iterable

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import BadDocument, Settings, as_list, is_allow, policy_document, sid, stack_policy, statements
from .._stack import StackIndex, get, items

SCOPED_SERVICES = ("glue", "states")
EXPECTED = "expected the ARNs of its own jobs and crawler (no wildcard)"


def _documents(s: StackIndex, roles: set[str]) -> Iterable[tuple[Any, str, Any]]:
    """(resource, property path, document) of every identity document of the roles."""
    for p in s.of(T.IAM_ROLE_POLICY):
        if s.refs(p, "role", {T.IAM_ROLE}) & roles:
            yield p, "policy", get(p.props, "policy")
    for urn in sorted(roles):
        role = s.by_urn.get(urn)
        for i, inline in enumerate(items(get(role.props, "inlinePolicies")) if role else []):
            yield role, f"inlinePolicies[{i}].policy", get(inline, "policy")
    for a in s.of(T.IAM_ROLE_POLICY_ATTACHMENT):
        if s.refs(a, "role", {T.IAM_ROLE}) & roles:
            for urn in s.refs(a, "policyArn", {T.IAM_POLICY}):
                policy = s.by_urn.get(urn)
                if policy is not None:
                    yield policy, "policy", get(policy.props, "policy")


def _scoped_actions(st: Any) -> list[str]:
    actions = [str(a) for a in as_list(st.get("Action"))]
    return [a for a in actions if a == "*" or a.split(":", 1)[0].lower() in SCOPED_SERVICES]


def _check_role_scope(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    s = StackIndex(args.resources)
    for machine in s.of(T.SFN_STATE_MACHINE):
        name = s.name_of(machine, "name")
        roles = {u for u in s.refs(machine, "roleArn", {T.IAM_ROLE}) if u in s.by_urn}
        for resource, where, value in _documents(s, roles):
            try:
                doc = policy_document(value)
            except BadDocument:
                continue  # aws-iam-policy-lint-parliament reports it
            for i, st in enumerate(statements(doc)):
                actions = _scoped_actions(st)
                if not is_allow(st) or not actions:
                    continue
                if st.get("NotResource") is not None:
                    report(f"state machine '{name}' role may {', '.join(actions)} on NotResource (every other "
                           f"resource) ({resource.name} {where} {sid(st, i)}); {EXPECTED}", resource.urn)
                    continue
                for target in (str(r) for r in as_list(st.get("Resource"))):
                    if "*" in target or "?" in target:
                        report(f"state machine '{name}' role may {', '.join(actions)} on '{target}' "
                               f"({resource.name} {where} {sid(st, i)}); {EXPECTED}", resource.urn)


POLICY = stack_policy(
    name="aws-sfn-state-machine-role-scope-actions",
    description="A Step Functions state machine's role grants Glue and Step Functions actions only on named "
                "resources (its jobs and crawler), never on wildcards.",
    severity=Severity.HIGH,
    remediation="Name each job and crawler ARN the state machine runs (lakehouse.model.iam."
                "state_machine_role_policy does).",
    check=_check_role_scope,
    frameworks=(),
    tags=["iam", "least-privilege", "sfn"],
)
