"""The import rules of docs/architecture.md hold, and each one fails when it is broken.

import-linter checks the package rules (contracts in pyproject.toml); the two rules it cannot see
(transforms call no reader or writer; entry scripts stay small and import only lakelib) are
checked here on the syntax tree.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GLUE_SCRIPTS = REPO / "glue_scripts"
LAKELIB = GLUE_SCRIPTS / "lakelib"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONTRACTS = {c["id"]: c["name"] for c in
             tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]}
# What a transform may not touch: Spark's readers and writers (attributes), the calls that read or
# write a table, and the builtin open.
IO_ATTRIBUTES = {"read", "readStream", "write", "writeStream", "writeTo", "saveAsTable", "insertInto"}
IO_CALLS = {"sql", "table", "jdbc", "open"}
ENTRY_SCRIPT_MAX_LINES = 20


def lint_imports(root: Path, *contracts: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{root / 'glue_scripts'}{os.pathsep}{root}"}
    args = [str(LINT_IMPORTS), "--no-cache", "--no-logo"] + [a for c in contracts for a in ("--contract", c)]
    return subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_every_import_contract_is_kept():
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in CONTRACTS.values():
        assert f"{name} KEPT" in done.stdout


# One violation per contract: (contract id, module file, line appended to it, what the report names).
VIOLATIONS = [
    ("glue-library", "glue_scripts/lakelib/runtime/args.py", "import lakehouse.model.zones",
     "lakelib.runtime.args -> lakehouse.model.zones"),
    ("model", "lakehouse/model/zones.py", "import pulumi", "lakehouse.model.zones -> pulumi"),
    ("policy-pack", "policy/lakehouse_policies/types.py", "import components",
     "policy.lakehouse_policies.types -> components"),
    ("components", "components/tagging.py", "import lakehouse.runner.state",
     "components.tagging -> lakehouse.runner.state"),
    ("tools", "lakehouse/ops/aws.py", "import pulumi_aws", "lakehouse.ops.aws -> pulumi_aws"),
    ("transforms", "glue_scripts/lakelib/fhir/gold.py", "import lakelib.io.tables",
     "lakelib.fhir.gold -> lakelib.io.tables"),
]


def test_every_contract_has_a_violation_test():
    assert sorted(CONTRACTS) == sorted(v[0] for v in VIOLATIONS)


@pytest.mark.parametrize("contract, module, line, chain", VIOLATIONS, ids=[v[0] for v in VIOLATIONS])
def test_a_contract_breaks_when_its_rule_is_broken(tmp_path, contract, module, line, chain):
    for part in ("lakehouse", "components", "policy", "glue_scripts/lakelib"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__", "venv"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    assert lint_imports(tmp_path, contract).returncode == 0  # the copy keeps the contract
    with (tmp_path / module).open("a") as fh:
        fh.write(f"\n{line}  # noqa\n")
    done = lint_imports(tmp_path, contract)
    assert done.returncode == 1
    assert f"{CONTRACTS[contract]} BROKEN" in done.stdout
    assert chain in done.stdout


def transform_modules() -> list[Path]:
    """Every module of a pipeline package except its jobs (the one place that does I/O)."""
    packages = [p for p in LAKELIB.iterdir() if p.is_dir() and p.name not in ("runtime", "io", "__pycache__")]
    return sorted(m for p in packages for m in p.glob("*.py") if m.name not in ("jobs.py", "__init__.py"))


def io_calls(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in IO_ATTRIBUTES:
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
            if name in IO_CALLS:
                found.append((node.lineno, name))
    return [f"{name} (line {line})" for line, name in sorted(found)]


def test_pipeline_packages_share_one_shape():
    # one package per declared pipeline; besides them only the platform's: runtime, io and maintenance (the
    # synthesized `maintain` job every pipeline gets, lakehouse.model.pipelines.maintenance_job)
    declared = {p.stem for p in (REPO / "pipelines").glob("*.yaml")}
    packages = {p.name for p in LAKELIB.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert packages == declared | {"runtime", "io", "maintenance"}
    assert {"fhir", "climate", "orders"} <= declared
    shapes = {p.name: sorted(m.name for m in p.glob("*.py")) for p in LAKELIB.iterdir() if p.name in declared}
    assert set(shapes) == declared
    for name, modules in shapes.items():
        assert {"__init__.py", "schemas.py", "rules.py", "jobs.py"} <= set(modules), name


@pytest.mark.parametrize("module", transform_modules(), ids=lambda m: str(m.relative_to(LAKELIB)))
def test_transforms_call_no_reader_or_writer(module):
    assert io_calls(module.read_text()) == []


def test_the_io_check_sees_a_reader_and_a_writer():
    source = "def with_x(spark, df):\n    spark.read.json('p')\n    df.writeTo('t').append()\n    open('f')\n"
    assert io_calls(source) == ["read (line 2)", "writeTo (line 3)", "open (line 4)"]
    assert io_calls("def with_x(spark):\n    return spark.table('t')\n") == ["table (line 2)"]


def entry_scripts() -> list[Path]:
    return sorted(p for d in GLUE_SCRIPTS.iterdir() if d.is_dir() and d.name != "lakelib" for p in d.glob("*.py"))


@pytest.mark.parametrize("script", entry_scripts(), ids=lambda p: str(p.relative_to(GLUE_SCRIPTS)))
def test_entry_scripts_are_small_and_import_only_lakelib(script):
    source = script.read_text()
    assert len(source.splitlines()) < ENTRY_SCRIPT_MAX_LINES
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"lakelib"} | set(sys.stdlib_module_names), sorted(imported)
