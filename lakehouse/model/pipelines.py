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
from typing import Any, Iterable, Mapping, Optional

import yaml

from .errors import Problems
from .platform import declared_argument_problem
from .quality import QualityRule, parse_quality, rule_owner_problems
from .zones import LAKE_ZONES, ZONES

REPO_ROOT = Path(__file__).resolve().parents[2]
PIPELINES_DIR = REPO_ROOT / "pipelines"
GLUE_SCRIPTS_DIR = REPO_ROOT / "glue_scripts"


NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TABLE_RE = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
PREFIX_RE = re.compile(r"^[A-Za-z0-9_\-./]+/$")
ARG_RE = re.compile(r"^--[A-Za-z][A-Za-z0-9_\-]*$")

PIPELINE_KEYS = {"name", "description", "jobs", "orchestrator", "crawler", "maintenance"}
# What runs a pipeline's jobs in AWS: a Glue workflow (triggers) or a Step Functions state machine.
ORCHESTRATORS = ("glue_workflow", "step_functions")
CRAWLER_KEYS = {"prefixes", "table_prefix"}
TABLE_PREFIX_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

JOB_KEYS = {
    "name", "script", "description", "depends_on", "reads", "writes", "arguments",
    "connection", "settings", "stacks", "quality",
}
ACCESS_KEYS = {"zone", "database", "tables", "prefixes"}
DATABASES = ("postgres",)  # the stack's JDBC database (GlueRdsConnection), reached by connection: true jobs

# Table maintenance (docs/operations.md, "Table maintenance"): every pipeline with Iceberg tables gets one
# job more, synthesized here rather than copied into each YAML: it waits for the pipeline's last jobs and
# declares as its writes every Iceberg table the pipeline writes, so its IAM role, its `lakehouse:writes`
# tags, its workflow trigger and its job settings come from the same code as every other job's.
MAINTENANCE_JOB = "maintain"  # short: "<prefix>-<stack>-<pipeline>-<job>" names its IAM role
MAINTENANCE_SCRIPT = "maintenance/maintain_tables.py"
MAINTENANCE_KEYS = {"snapshot_retention_hours", "orphan_file_age_hours", "checkpoints"}
# (default, min, max) in hours. Orphan files: a file younger than this is never removed, so the
# minimum is Glue's longest job timeout (2880 minutes): a running job's not yet committed files are safe.
MAINTENANCE_HOURS = {"snapshot_retention_hours": (168, 1, 8760), "orphan_file_age_hours": (72, 48, 8760)}


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
    quality: tuple[QualityRule, ...] = ()  # data-quality rules on the tables it writes (lakehouse.model.quality)

    @property
    def key(self) -> str:
        return f"{self.pipeline}.{self.name}"

    @property
    def is_maintenance(self) -> bool:
        """The synthesized table-maintenance job (a declared job may not take its name)."""
        return self.name == MAINTENANCE_JOB

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
class CrawlerSpec:
    """A Glue crawler over raw-zone prefixes: one catalog table per prefix, in the raw zone's database,
    named table_prefix + the prefix's last folder (orders/customers/ -> <table_prefix>customers)."""

    prefixes: tuple[str, ...]  # in the raw bucket, each ending in '/'
    table_prefix: str

    def table_for(self, prefix: str) -> str:
        return self.table_prefix + prefix.rstrip("/").rsplit("/", 1)[-1]

    def table_level(self) -> int:
        """The folder level of the raw bucket where the crawler makes tables (the bucket is level 1): the
        prefixes' last folders (all prefixes have one depth)."""
        return 1 + self.prefixes[0].count("/")

    def tables(self) -> tuple[str, ...]:
        """The catalog table names the crawler creates, in prefix order."""
        return tuple(self.table_for(p) for p in self.prefixes)

    def prefix_of(self, table: str) -> str:
        for p in self.prefixes:
            if self.table_for(p) == table:
                return p
        raise KeyError(f"the crawler creates no table {table!r}; its tables: {list(self.tables())}")


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    description: str
    jobs: tuple[JobSpec, ...]
    source: str = "<inline>"
    orchestrator: str = ORCHESTRATORS[0]
    crawler: Optional[CrawlerSpec] = None

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


def _parse_access(raw: Any, key: str, problems: Problems, raw_tables: bool = False) -> tuple[Access, ...]:
    """`raw_tables`: whether raw-zone tables may be declared (reads of a pipeline with a crawler,
    checked against the crawler's tables by crawler_read_problems)."""
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
        if zone == "raw" and tables and not raw_tables:
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
    for extra in sorted(set(data) - PIPELINE_KEYS):
        problems.add(f"{source}: {extra}", data[extra], f"one of the keys {sorted(PIPELINE_KEYS)}")
    orchestrator = data.get("orchestrator", ORCHESTRATORS[0])
    if orchestrator not in ORCHESTRATORS:
        problems.add(f"{source}: orchestrator", orchestrator, " | ".join(ORCHESTRATORS))
        orchestrator = ORCHESTRATORS[0]
    crawler = _parse_crawler(data.get("crawler"), f"{source}: crawler", problems)
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
        reads = _parse_access(rj.get("reads"), f"{k}.reads", problems, raw_tables=crawler is not None)
        if crawler is not None:
            problems.extend(crawler_read_problems(crawler, reads, f"{k}.reads"))
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
        quality = parse_quality(rj.get("quality"), f"{k}.quality",
                                [(a.zone, t) for a in writes for t in a.tables], problems)
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
            quality=quality,
        ))

    problems.extend(dag_problems(name, jobs, source))
    problems.extend(rule_owner_problems({j.name: j.quality for j in jobs}, source))
    for j in jobs:
        if j.is_maintenance:
            problems.add(f"{source}: jobs.{j.name}.name", j.name,
                         f"a job name other than {MAINTENANCE_JOB!r} (the platform adds that job: "
                         "configure it under `maintenance:`)")
    if not problems.items:
        maintenance = maintenance_job(name, jobs, data.get("maintenance"), source, problems)
        if maintenance is not None:
            jobs.append(maintenance)
    problems.raise_if_any()
    return PipelineSpec(name=name, description=str(data.get("description", "")), jobs=tuple(jobs), source=source,
                        orchestrator=orchestrator, crawler=crawler)


def _parse_crawler(raw: Any, key: str, problems: Problems) -> Optional[CrawlerSpec]:
    """The optional `crawler:` mapping: raw-zone prefixes (each becomes one table) and the table prefix."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.add(key, raw, "a mapping with prefixes and table_prefix")
        return None
    for extra in sorted(set(raw) - CRAWLER_KEYS):
        problems.add(f"{key}.{extra}", raw[extra], f"one of the keys {sorted(CRAWLER_KEYS)}")
    table_prefix = raw.get("table_prefix")
    if not isinstance(table_prefix, str) or not TABLE_PREFIX_RE.match(table_prefix):
        problems.add(f"{key}.table_prefix", table_prefix,
                     "lower-case letters, digits and _ (max 40), starting with a letter, e.g. orders_raw_")
        table_prefix = None
    prefixes = _str_tuple(raw.get("prefixes"), f"{key}.prefixes", problems, PREFIX_RE,
                          "raw-zone object prefixes ending in '/' (letters, digits, - _ . /)")
    if raw.get("prefixes") is None or (isinstance(raw.get("prefixes"), list) and not raw["prefixes"]):
        problems.add(f"{key}.prefixes", raw.get("prefixes"), "a non-empty list of raw-zone prefixes")
    ok: list[str] = []
    for i, p in enumerate(prefixes):
        parts = p[:-1].split("/")
        if p.startswith("/") or any(part in ("", ".", "..") for part in parts):
            problems.add(f"{key}.prefixes[{i}]", p,
                         "a prefix inside the raw bucket: no leading '/', no empty, '.' or '..' folder")
            continue
        if p in ok:
            problems.add(f"{key}.prefixes[{i}]", p, "each prefix once")
            continue
        nested = [q for q in ok if p.startswith(q) or q.startswith(p)]
        if nested:
            problems.add(f"{key}.prefixes[{i}]", p,
                         f"prefixes that do not contain one another (overlaps {nested[0]!r}: its files "
                         "would be cataloged twice)")
            continue
        ok.append(p)
    depths = sorted({p.count("/") for p in ok})
    if len(depths) > 1:
        problems.add(f"{key}.prefixes", ok, f"prefixes of one folder depth (got depths {depths}): the crawler "
                                            "makes its tables at one folder level of the raw bucket")
    if table_prefix is None or not ok:
        return None
    crawler = CrawlerSpec(prefixes=tuple(ok), table_prefix=table_prefix)
    seen: dict[str, str] = {}
    for p, t in zip(crawler.prefixes, crawler.tables()):
        if not TABLE_RE.match(t):
            problems.add(f"{key}.prefixes", p,
                         f"prefixes whose last folder makes, after table_prefix, a table name matching "
                         f"{TABLE_RE.pattern} (got {t!r})")
        elif t in seen:
            problems.add(f"{key}.prefixes", p,
                         f"prefixes with distinct last folders (table {t!r} is also {seen[t]!r}'s)")
        seen.setdefault(t, p)
    return crawler


def crawler_read_problems(crawler: CrawlerSpec, reads: Iterable[Access], key: str) -> Problems:
    """A job reads a crawler's table by declaring it in reads (zone raw): only the crawler's tables, and
    with a raw prefix covering that table's data (reading through the catalog reads those objects)."""
    problems = Problems()
    raw_reads = [a for a in reads if a.zone == "raw"]
    prefixes = [p for a in raw_reads for p in a.prefixes]
    for a in raw_reads:
        for t in a.tables:
            if t not in crawler.tables():
                problems.add(f"{key}.tables", t, f"tables of the pipeline's crawler {list(crawler.tables())}")
                continue
            data = crawler.prefix_of(t)
            if not any(data.startswith(p) for p in prefixes):
                problems.add(f"{key}.prefixes", prefixes,
                             f"a raw prefix covering {data!r}, where the crawler table {t!r} keeps its data")
    return problems


def maintenance_job(pipeline: str, jobs: list[JobSpec], raw: Any, source: str,
                    problems: Problems) -> JobSpec | None:
    """The pipeline's table-maintenance job, or None when the pipeline writes no Iceberg table.

    It waits for the jobs nothing else waits for (so it never runs beside the pipeline's own writes
    in one workflow run), writes every lake table the pipeline writes, and gets its settings as
    job arguments from the optional `maintenance:` mapping: snapshot_retention_hours,
    orphan_file_age_hours (MAINTENANCE_HOURS: default, range) and checkpoints, a mapping of
    `<zone>.<table>` checkpoint tables (columns source_table, snapshot_id, checkpoint_seq, consumer)
    to the zone of the tables they name: expiry keeps every snapshot a consumer still reads from."""
    key = f"{source}: maintenance"
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        problems.add(key, raw, f"a mapping with the keys {sorted(MAINTENANCE_KEYS)}")
        return None
    for extra in sorted(set(raw) - MAINTENANCE_KEYS):
        problems.add(f"{key}.{extra}", raw[extra], f"one of the keys {sorted(MAINTENANCE_KEYS)}")
    hours = {}
    for name, (default, low, high) in MAINTENANCE_HOURS.items():
        value = raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.add(f"{key}.{name}", value, f"a whole number of hours from {low} to {high}")
        hours[name] = value
    tables = {z: sorted({t for j in jobs for a in j.writes if a.zone == z for t in a.tables}) for z in LAKE_ZONES}
    maintained = [f"{z}.{t}" for z in LAKE_ZONES for t in tables[z]]
    checkpoints = raw.get("checkpoints") or {}
    if not isinstance(checkpoints, dict):
        problems.add(f"{key}.checkpoints", checkpoints, "a mapping of <zone>.<table> to a lake zone")
        checkpoints = {}
    for table, zone in checkpoints.items():
        if table not in maintained:
            problems.add(f"{key}.checkpoints", table, f"a table the pipeline writes: {maintained}")
        if zone not in LAKE_ZONES:
            problems.add(f"{key}.checkpoints.{table}", zone, " | ".join(LAKE_ZONES))
    if not maintained:
        return None
    leaves = [j.name for j in jobs if not any(j.name in o.depends_on for o in jobs)]
    arguments = {"--tables": ",".join(maintained),
                 **{f"--{name}": str(value) for name, value in hours.items()}}
    if checkpoints:
        arguments["--checkpoints"] = ",".join(f"{t}={z}" for t, z in sorted(checkpoints.items()))
    return JobSpec(
        pipeline=pipeline, name=MAINTENANCE_JOB, script=MAINTENANCE_SCRIPT,
        description="Compact, rewrite manifests, expire snapshots (keeping every checkpointed one) and remove "
                    "orphan files of every Iceberg table of the pipeline; changes no row",
        depends_on=tuple(leaves),
        writes=tuple(Access(zone=z, tables=tuple(tables[z])) for z in LAKE_ZONES if tables[z]),
        arguments=arguments,
    )


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
