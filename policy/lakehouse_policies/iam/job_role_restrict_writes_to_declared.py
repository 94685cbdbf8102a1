"""Every Glue job's role writes only where the job declares writing: each S3 and Glue Data Catalog action
of access level Write or Permissions management (wildcards expanded by parliament) that an Allow
statement of the role grants (its `RolePolicy` resources, `inlinePolicies`, attached customer policies)
is on the job's declared tables and prefixes, or on the temp and Spark UI prefixes the platform gives it.

A job states its declared writes in its `lakehouse:writes` tags (lakehouse.model.pipelines
.declared_write_tags: `<zone>.<table>` and `<zone>:<prefix>` entries) and where its zones are in its
default arguments (`--<zone>_path` = the zone's bucket, `--<zone>_database`); `--TempDir` and
`--spark-event-logs-path` are its own prefixes. Allowed: S3 objects under `<zone bucket>/<table>/`,
`<zone bucket>/<prefix>` and those two prefixes; the Glue catalog, the databases of the zones it
declares tables in, and its declared tables. Anything else (another zone, the whole bucket, a bucket's
own settings, another table, `Resource "*"`, `NotResource`) is reported, naming the job, the action and
the resource. A role is a job's by the job's `roleArn`. A job without the tags is not judged, unless
the stack's other jobs carry them (then it is reported: a job built otherwise declares nothing); a
job whose default arguments are not known yet (at preview, a job waiting for its connection's name) is
judged once they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import BadDocument, Settings, as_list, is_allow, is_map, policy_document, sid, stack_policy, statements
from .._stack import StackIndex, get, items
from ._shared import WRITE_LEVELS, Grant, arn_matches, expand, is_wildcard, resource_types

DECLARED_WRITES_TAG = "lakehouse:writes"  # lakehouse.model.pipelines.DECLARED_WRITES_TAG
JUDGED_SERVICES = ("s3", "glue")
OWN_PREFIX_ARGUMENTS = ("--TempDir", "--spark-event-logs-path")
CATALOG_TYPES = {"catalog", "rootcatalog"}
EXPECTED = ("expected writes only to its declared tables and prefixes (pipelines/<name>.yaml writes) and its "
            "own temp and Spark UI prefixes")


@dataclass
class _Declared:
    """What one job may write: S3 `bucket/prefix` strings, Glue databases and (database, table) pairs."""

    entries: list[str]
    prefixes: list[str] = field(default_factory=list)
    databases: set[str] = field(default_factory=set)
    tables: set[tuple[str, str]] = field(default_factory=set)

    def describe(self) -> str:
        return " ".join(self.entries) or "nothing"


def _declaration(job: Any) -> Optional[list[str]]:
    """The job's declared write entries from its tags, None when it carries none."""
    tags = get(job.props, "tags")
    if not is_map(tags):
        return None
    keys = sorted((k for k in tags.keys() if k == DECLARED_WRITES_TAG or k.startswith(DECLARED_WRITES_TAG + ":")),
                  key=lambda k: (len(k), k))
    if DECLARED_WRITES_TAG not in keys:
        return None
    return [e for k in keys for e in str(get(tags, k) or "").split()]


def _s3_location(uri: Any) -> Optional[str]:
    """s3://bucket/prefix as 'bucket/prefix' (ending in '/' when it names a folder)."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return None
    return uri.removeprefix("s3://")


def _declared(job: Any, entries: list[str]) -> _Declared:
    arguments = get(job.props, "defaultArguments")
    arguments = arguments if is_map(arguments) else {}
    out = _Declared(entries)
    for entry in entries:
        # <zone>.<table> or <zone>:<prefix> (a zone name holds neither '.' nor ':')
        cut = min([i for i in (entry.find("."), entry.find(":")) if i >= 0], default=-1)
        if cut <= 0:
            continue
        zone, kind, rest = entry[:cut], entry[cut], entry[cut + 1:]
        bucket = _s3_location(get(arguments, f"--{zone}_path"))  # none for the JDBC database's tables
        if kind == ":":
            if bucket:
                out.prefixes.append(bucket.rstrip("/") + "/" + rest)
            continue
        if bucket:
            out.prefixes.append(f"{bucket.rstrip('/')}/{rest}/")
        database = get(arguments, f"--{zone}_database")
        if isinstance(database, str) and database:
            out.databases.add(database)
            out.tables.add((database, rest))
    for key in OWN_PREFIX_ARGUMENTS:
        own = _s3_location(get(arguments, key))
        if own and "/" in own.rstrip("/"):
            out.prefixes.append(own if own.endswith("/") else own + "/")
    return out


def _literal_head(value: str) -> str:
    """What every string a wildcard pattern matches starts with."""
    cut = min([i for i in (value.find("*"), value.find("?")) if i >= 0], default=len(value))
    return value[:cut]


def _s3_allowed(resource: str, declared: _Declared) -> bool:
    """Is every object the ARN names under a declared prefix?"""
    if not resource.startswith("arn:") or resource.count(":") < 5:
        return False
    path = resource.split(":", 5)[5]
    head = _literal_head(path)
    return any(head.startswith(p) for p in declared.prefixes)


def _glue_allowed(resource_type: str, resource: str, declared: _Declared) -> bool:
    if resource_type in CATALOG_TYPES:
        return True
    if resource == "*" or is_wildcard(resource) or resource.count(":") < 5:
        return False
    path = resource.split(":", 5)[5]
    kind, _, rest = path.partition("/")
    if resource_type == "database" and kind == "database":
        return rest in declared.databases
    if resource_type == "table" and kind == "table":
        database, _, table = rest.partition("/")
        return (database, table) in declared.tables
    return False


def _writes(action: str) -> list[Grant]:
    """The S3 and Glue writes an Action element grants ('*' grants all of them)."""
    names = [f"{s}:*" for s in JUDGED_SERVICES] if action == "*" else [action]
    return [g for n in names for g in expand(n) if g.service in JUDGED_SERVICES and g.level in WRITE_LEVELS]


def _outside(st: Any, declared: _Declared) -> list[tuple[str, list[str]]]:
    """(resource, the statement's actions writing there) for every resource outside the declaration."""
    if st.get("NotResource") is not None:
        actions = [str(a) for a in as_list(st.get("Action")) if _writes(str(a))]
        return [("NotResource (every other resource)", actions)] if actions else []
    out: dict[str, list[str]] = {}
    resources = [str(r) for r in as_list(st.get("Resource"))]
    for action in (str(a) for a in as_list(st.get("Action"))):
        for grant in _writes(action):
            for resource in resources:
                types = [t for t, fmt in resource_types(grant.service, grant.name)
                         if resource == "*" or arn_matches(t, fmt, resource)]
                if not types:
                    continue  # not a resource of this action (a statement may mix services)
                allowed = (_s3_allowed(resource, declared) if grant.service == "s3"
                           else all(_glue_allowed(t, resource, declared) for t in types))
                if not allowed and action not in out.setdefault(resource, []):
                    out[resource].append(action)
    return [(r, a) for r, a in out.items() if a]


def _documents(s: StackIndex, roles: set[str]) -> Iterable[tuple[Any, str, Any]]:
    """(resource, property path, document value) of every identity document of the roles."""
    for p in s.of(T.IAM_ROLE_POLICY):
        if s.refs(p, "role", {T.IAM_ROLE}) & roles:
            yield p, "policy", get(p.props, "policy")
    for urn in sorted(roles):
        role = s.by_urn.get(urn)
        if role is None:
            continue
        for i, inline in enumerate(items(get(role.props, "inlinePolicies"))):
            yield role, f"inlinePolicies[{i}].policy", get(inline, "policy")
    for a in s.of(T.IAM_ROLE_POLICY_ATTACHMENT):
        if s.refs(a, "role", {T.IAM_ROLE}) & roles:
            for urn in s.refs(a, "policyArn", {T.IAM_POLICY}):
                policy = s.by_urn.get(urn)
                if policy is not None:
                    yield policy, "policy", get(policy.props, "policy")


def _check_writes(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    s = StackIndex(args.resources)
    jobs = s.of(T.GLUE_JOB)
    declarations = {j.urn: _declaration(j) for j in jobs}
    some_declare = any(d is not None for d in declarations.values())
    for job in jobs:
        name = s.name_of(job, "name")
        entries = declarations[job.urn]
        if entries is None:
            if some_declare:
                report(f"job '{name}' declares no writes (no {DECLARED_WRITES_TAG} tag), unlike the stack's other "
                       "jobs; expected the tags GlueJob sets from the job's declaration", job.urn)
            continue
        if not is_map(get(job.props, "defaultArguments")):
            continue  # not known yet (preview of a job whose arguments wait for its connection's name)
        declared = _declared(job, entries)
        roles = {u for u in s.refs(job, "roleArn", {T.IAM_ROLE}) if u in s.by_urn}
        for resource, where, value in _documents(s, roles):
            try:
                doc = policy_document(value)
            except BadDocument:
                continue  # aws-iam-policy-lint-parliament reports it
            for i, st in enumerate(statements(doc)):
                if not is_allow(st):
                    continue
                for target, actions in _outside(st, declared):
                    report(f"job '{name}' may {', '.join(actions)} on {target} ({resource.name} {where} "
                           f"{sid(st, i)}), outside what it declares writing ({declared.describe()}); {EXPECTED}",
                           resource.urn)


POLICY = stack_policy(
    name="aws-iam-job-role-restrict-writes-to-declared",
    description="A Glue job's role writes and deletes S3 objects and Glue tables only where its pipeline "
                "declares the job writes (and its own temp and Spark UI prefixes).",
    severity=Severity.HIGH,
    remediation="Declare the write in the job's pipelines/<name>.yaml `writes` (the program then grants it), or "
                "remove the statement granting it.",
    check=_check_writes,
    frameworks=(),
    tags=["iam", "least-privilege", "glue"],
)

