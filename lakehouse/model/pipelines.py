"""Pipeline declarations: plain data shared by the Pulumi program and the local runner.

A pipeline is a YAML file in `pipelines/` naming its jobs, each job's script, arguments,
what it reads and writes (zone, Iceberg tables, object prefixes) and which jobs it waits
for. Adding a job is an edit to that file, not to code. Nothing here imports Pulumi.
"""

from __future__ import annotations

import graphlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from .errors import Problems
from .platform import declared_argument_problem
from .zones import ZONES

REPO_ROOT = Path(__file__).resolve().parents[2]
PIPELINES_DIR = REPO_ROOT / "pipelines"
GLUE_SCRIPTS_DIR = REPO_ROOT / "glue_scripts"


NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TABLE_RE = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
PREFIX_RE = re.compile(r"^[A-Za-z0-9_\-./]+/$")
ARG_RE = re.compile(r"^--[A-Za-z][A-Za-z0-9_\-]*$")

JOB_KEYS = {
    "name", "script", "description", "depends_on", "reads", "writes", "arguments",
    "connection", "settings", "stacks",
}
ACCESS_KEYS = {"zone", "database", "tables", "prefixes"}
DATABASES = ("postgres",)  # the stack's JDBC database (GlueRdsConnection), reached by connection: true jobs


@dataclass(frozen=True)
class Access:
    """What a job touches in one store: a lake zone (Iceberg tables and/or object prefixes) or
    the stack's PostgreSQL database (`database: postgres`, tables only)."""

    zone: str  # a lake zone (ZONES) or a database (DATABASES)
    tables: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()

    @property
    def in_lake(self) -> bool:
        return self.zone in ZONES


@dataclass(frozen=True)
class JobSpec:
    pipeline: str
    name: str
    script: str  # path relative to glue_scripts/
    description: str = ""
    depends_on: tuple[str, ...] = ()
    reads: tuple[Access, ...] = ()
    writes: tuple[Access, ...] = ()
    arguments: Mapping[str, str] = field(default_factory=dict)
    connection: bool = False  # needs the Glue JDBC connection to the database
    settings: Mapping[str, Any] = field(default_factory=dict)  # job-size overrides
    stacks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # per-stack overrides

    @property
    def key(self) -> str:
        return f"{self.pipeline}.{self.name}"

    def zones(self) -> tuple[str, ...]:
        """Every zone the job reads or writes, in lake order."""
        used = {a.zone for a in self.reads + self.writes}
        return tuple(z for z in ZONES if z in used)

    def declared_writes(self) -> frozenset[str]:
        """What the job may write, in the form its run reports (lakelib.runtime.job): `<zone>.<table>`,
        `postgres.<table>`, and `<zone>:<prefix>` for object prefixes."""
        return frozenset({f"{a.zone}.{t}" for a in self.writes for t in a.tables}
                         | {f"{a.zone}:{p}" for a in self.writes for p in a.prefixes})

    def settings_for(self, stack: str) -> dict[str, Any]:
        return {**self.settings, **self.stacks.get(stack, {})}


# A deployed job carries its declared writes as tags of the Glue job, so that the policy pack (which
# imports nothing of lakehouse) can hold its role's write statements to them
# (aws-iam-job-role-restrict-writes-to-declared): `lakehouse:writes` = the entries of
# JobSpec.declared_writes, sorted and space-separated; what does not fit one tag value continues in
# `lakehouse:writes:2`, `lakehouse:writes:3` ... An empty `lakehouse:writes` declares no writes.
DECLARED_WRITES_TAG = "lakehouse:writes"
TAG_VALUE_MAX = 256  # characters of a Glue tag value


def declared_write_tags(job: JobSpec) -> dict[str, str]:
    """The Glue job tags stating what `job` declares writing (DECLARED_WRITES_TAG)."""
    chunks: list[str] = [""]
    for entry in sorted(job.declared_writes()):
        if len(entry) > TAG_VALUE_MAX:
            raise ValueError(f"{job.key}: the declared write {entry!r} is longer than a tag value "
                             f"({TAG_VALUE_MAX} characters); declare a shorter prefix")
        joined = f"{chunks[-1]} {entry}" if chunks[-1] else entry
        if len(joined) <= TAG_VALUE_MAX:
            chunks[-1] = joined
        else:
            chunks.append(entry)
    return {DECLARED_WRITES_TAG if i == 0 else f"{DECLARED_WRITES_TAG}:{i + 1}": c for i, c in enumerate(chunks)}


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    description: str
    jobs: tuple[JobSpec, ...]
    source: str = "<inline>"

    def job(self, name: str) -> JobSpec:
        for j in self.jobs:
            if j.name == name:
                return j
        raise KeyError(
            f"pipeline {self.name!r} has no job {name!r}; jobs: {[j.name for j in self.jobs]}"
        )

    def roots(self) -> tuple[JobSpec, ...]:
        return tuple(j for j in self.jobs if not j.depends_on)

    def downstream(self, name: str) -> tuple[JobSpec, ...]:
        return tuple(j for j in self.jobs if name in j.depends_on)

    def topological_order(self) -> tuple[JobSpec, ...]:
        """Jobs so that each comes after everything it depends on; ties keep file order."""
        sorter = graphlib.TopologicalSorter({j.name: j.depends_on for j in self.jobs})
        sorter.prepare()  # raises graphlib.CycleError; validated away at load time
        position = {j.name: i for i, j in enumerate(self.jobs)}
        done: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=position.__getitem__)
            done.extend(ready)
            sorter.done(*ready)
        return tuple(self.job(n) for n in done)

    def waves(self) -> tuple[tuple[JobSpec, ...], ...]:
        """Groups of jobs that can run at the same time, in order (what Glue triggers fire)."""
        level: dict[str, int] = {}
        for j in self.topological_order():
            level[j.name] = 1 + max((level[d] for d in j.depends_on), default=-1)
        return tuple(
            tuple(j for j in self.topological_order() if level[j.name] == lv)
            for lv in range(max(level.values(), default=-1) + 1)
        )


def _str_tuple(value: Any, key: str, problems: Problems, pattern: re.Pattern, allowed: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.add(key, value, "a list")
        return ()
    out = []
    for i, v in enumerate(value):
        if not isinstance(v, str) or not pattern.match(v):
            problems.add(f"{key}[{i}]", v, allowed)
        else:
            out.append(v)
    return tuple(out)


def _parse_access(raw: Any, key: str, problems: Problems) -> tuple[Access, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add(key, raw, "a list of {zone, tables, prefixes}")
        return ()
    out = []
    for i, item in enumerate(raw):
        k = f"{key}[{i}]"
        if not isinstance(item, dict):
            problems.add(k, item, "a mapping with zone, tables and/or prefixes")
            continue
        for extra in sorted(set(item) - ACCESS_KEYS):
            problems.add(f"{k}.{extra}", item[extra], f"one of the keys {sorted(ACCESS_KEYS)}")
        if "database" in item:
            database = item["database"]
            if database not in DATABASES or "zone" in item or item.get("prefixes"):
                problems.add(f"{k}.database", database,
                             f"{' | '.join(DATABASES)} with tables only (no zone or prefixes)")
                continue
            tables = _str_tuple(item.get("tables"), f"{k}.tables", problems, TABLE_RE,
                                "lower-case table names matching " + TABLE_RE.pattern)
            if not tables:
                problems.add(k, item, "at least one table of the database")
            out.append(Access(zone=database, tables=tables))
            continue
        zone = item.get("zone")
        if zone not in ZONES:
            problems.add(f"{k}.zone", zone, " | ".join(ZONES) + " (or database: " + " | ".join(DATABASES) + ")")
            continue
        tables = _str_tuple(item.get("tables"), f"{k}.tables", problems, TABLE_RE,
                            "lower-case table names matching " + TABLE_RE.pattern)
        prefixes = _str_tuple(item.get("prefixes"), f"{k}.prefixes", problems, PREFIX_RE,
                              "object prefixes ending in '/' (letters, digits, - _ . /)")
        if zone == "raw" and tables:
            problems.add(f"{k}.tables", list(tables), "none: the raw zone holds files, declare prefixes")
        if not tables and not prefixes:
            problems.add(k, item, "at least one table or prefix")
        out.append(Access(zone=zone, tables=tables, prefixes=prefixes))
    return tuple(out)


def parse_pipeline(data: Any, source: str = "<inline>") -> PipelineSpec:
    """Parse and validate one pipeline declaration; raises ConfigError listing every problem."""
    problems = Problems()
    if not isinstance(data, dict):
        problems.add(source, data, "a mapping with name, description and jobs")
        problems.raise_if_any()
    name = data.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        problems.add(f"{source}: name", name, "lower-case letters, digits and _ (max 40), starting with a letter")
        name = str(name)
    raw_jobs = data.get("jobs")
    if not isinstance(raw_jobs, list) or not raw_jobs:
        problems.add(f"{source}: jobs", raw_jobs, "a non-empty list of jobs")
        raw_jobs = []

    jobs: list[JobSpec] = []
    for i, rj in enumerate(raw_jobs):
        k = f"{source}: jobs[{i}]"
        if not isinstance(rj, dict):
            problems.add(k, rj, "a mapping")
            continue
        jname = rj.get("name")
        if isinstance(jname, str) and NAME_RE.match(jname):
            k = f"{source}: jobs.{jname}"
        else:
            problems.add(f"{k}.name", jname, "lower-case letters, digits and _ (max 40), starting with a letter")
        for extra in sorted(set(rj) - JOB_KEYS):
            problems.add(f"{k}.{extra}", rj[extra], f"one of the keys {sorted(JOB_KEYS)}")
        script = rj.get("script")
        if not isinstance(script, str) or not script.endswith(".py"):
            problems.add(f"{k}.script", script, "a .py path relative to glue_scripts/")
        elif not _inside_scripts(script):
            problems.add(f"{k}.script", script, f"a .py path relative to {GLUE_SCRIPTS_DIR.name}/ that stays inside "
                                                "it (no absolute path, no ..)")
        elif not (GLUE_SCRIPTS_DIR / script).is_file():
            problems.add(f"{k}.script", script, f"an existing file under {GLUE_SCRIPTS_DIR.name}/")
        deps = rj.get("depends_on") or []
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            problems.add(f"{k}.depends_on", deps, "a list of job names of this pipeline")
            deps = []
        args = rj.get("arguments") or {}
        if not isinstance(args, dict):
            problems.add(f"{k}.arguments", args, "a mapping of --name: value")
            args = {}
        for a, v in args.items():
            if not isinstance(a, str) or not ARG_RE.match(a):
                problems.add(f"{k}.arguments", a, "argument names like --my_arg")
            elif why := declared_argument_problem(a):
                problems.add(f"{k}.arguments.{a}", v, why)
            if not isinstance(v, (str, int, float, bool)):
                problems.add(f"{k}.arguments.{a}", v, "a string, number or boolean")
        connection = rj.get("connection", False)
        if not isinstance(connection, bool):
            problems.add(f"{k}.connection", connection, "true | false")
            connection = False
        reads = _parse_access(rj.get("reads"), f"{k}.reads", problems)
        writes = _parse_access(rj.get("writes"), f"{k}.writes", problems)
        databases = sorted({a.zone for a in reads + writes if not a.in_lake})
        if databases and not connection:
            problems.add(f"{k}.connection", connection, f"true: the job declares database {databases}")
        if connection and not databases:
            problems.add(f"{k}.connection", connection,
                         f"false, or declare the tables it reads or writes as "
                         f"{{database: {DATABASES[0]}, tables: [...]}}")
        settings = rj.get("settings") or {}
        if not isinstance(settings, dict):
            problems.add(f"{k}.settings", settings, "a mapping of job settings")
            settings = {}
        stacks = rj.get("stacks") or {}
        if not isinstance(stacks, dict) or not all(isinstance(v, dict) for v in stacks.values()):
            problems.add(f"{k}.stacks", stacks, "a mapping of stack name to job settings")
            stacks = {}
        jobs.append(JobSpec(
            pipeline=name,
            name=str(jname),
            script=str(script),
            description=str(rj.get("description", "")),
            depends_on=tuple(deps),
            reads=reads,
            writes=writes,
            arguments={str(a): _arg_str(v) for a, v in args.items()},
            connection=connection,
            settings=dict(settings),
            stacks={str(s): dict(v) for s, v in stacks.items()},
        ))

    problems.extend(dag_problems(name, jobs, source))
    problems.raise_if_any()
    return PipelineSpec(name=name, description=str(data.get("description", "")), jobs=tuple(jobs), source=source)


def _inside_scripts(script: str) -> bool:
    """Whether `script` names a file under glue_scripts/ once resolved: not absolute, no way out
    through .. or a symbolic link (the deployed job uploads, and the runner runs, that file)."""
    path = Path(script)
    if path.is_absolute() or ".." in path.parts or "\\" in script:
        return False
    return (GLUE_SCRIPTS_DIR / path).resolve().is_relative_to(GLUE_SCRIPTS_DIR.resolve())


def _arg_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def dag_problems(pipeline: str, jobs: Iterable[JobSpec], source: str = "<inline>") -> Problems:
    """Duplicate names, unknown or self dependencies, cycles and unreachable jobs."""
    problems = Problems()
    jobs = list(jobs)
    names = [j.name for j in jobs]
    for n in sorted({n for n in names if names.count(n) > 1}):
        problems.add(f"{source}: jobs.{n}.name", n, "a job name used once per pipeline")
    known = set(names)
    for j in jobs:
        for d in j.depends_on:
            if d == j.name:
                problems.add(f"{source}: jobs.{j.name}.depends_on", d,
                             "other jobs of the pipeline, not the job itself")
            elif d not in known:
                problems.add(f"{source}: jobs.{j.name}.depends_on", d,
                             f"jobs of pipeline {pipeline!r}: {sorted(known)}")
    if problems.items:
        return problems

    cycle = _find_cycle({j.name: j.depends_on for j in jobs})
    if cycle:
        problems.add(f"{source}: jobs.{cycle[0]}.depends_on", " -> ".join(cycle),
                     "an acyclic graph (a job may not wait on itself through others)")
    # With every dependency known and no cycle, each job is reachable from a job with no
    # depends_on: an unreachable job can only be one waiting on a cycle, reported above.
    return problems


def _find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a] following depends_on edges (a waits on b), or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as e:
        return list(reversed(e.args[1]))  # graphlib lists each node before the jobs waiting on it
    return None


def load_pipeline(name_or_path: str | Path) -> PipelineSpec:
    """Load `pipelines/<name>.yaml` (or a path to a YAML file)."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = PIPELINES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        available = sorted(p.stem for p in PIPELINES_DIR.glob("*.yaml"))
        problems = Problems()
        problems.add("pipelines", str(name_or_path), f"one of the declared pipelines {available}")
        problems.raise_if_any()
    with path.open() as fh:
        data = yaml.safe_load(fh)
    try:
        source = str(path.relative_to(REPO_ROOT))
    except ValueError:
        source = str(path)
    return parse_pipeline(data, source)


def available_pipelines() -> list[str]:
    return sorted(p.stem for p in PIPELINES_DIR.glob("*.yaml"))
