"""docs/policy-pack.md's policy table is generated from the pack (`python -m policy.docs`): the
committed doc is what the pack generates, an edited copy is caught, and the generated rows say
what the pack and the stack configs say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi_policy import StackValidationPolicy

from policy import docs
from policy.lakehouse_policies import all_policies, frameworks_of, policies_by_name, policy_modules
from policy.offline import POLICY_DIR, configure, load_pack_config

ROOT = Path(__file__).resolve().parents[2]
STALE = "run .venv/bin/python -m policy.docs --write"


def _levels(stack: str) -> dict[str, str]:
    return {c.policy.name: c.level.value for c in configure(all_policies(), load_pack_config(
        POLICY_DIR / f"config.{stack}.json"))}


def test_the_doc_is_what_the_pack_generates():
    text = docs.DOC.read_text(encoding="utf-8")
    assert docs.render(text) == text, STALE


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("| high | mandatory | mandatory |", "| low | mandatory | mandatory |", 1),  # a severity
    lambda t: t.replace("AWS FSBP S3.8", "AWS FSBP S3.1", 1),  # a framework
    lambda t: re.sub(r"^\| `aws-sns-topic-enable-kms` .*\n", "", t, count=1, flags=re.M),  # a row dropped
    lambda t: t.replace(docs.END, "| `aws-made-up` | s3 | Nothing. | low | |\n" + docs.END, 1),  # a row added
], ids=["severity", "framework", "row-dropped", "row-added"])
def test_an_edited_copy_of_the_doc_fails(tmp_path, edit, capsys):
    text = docs.DOC.read_text(encoding="utf-8")
    edited = edit(text)
    assert edited != text
    assert docs.render(edited) != edited
    copy = tmp_path / "policy-pack.md"
    copy.write_text(edited, encoding="utf-8")
    assert docs.main(["--check", "--doc", str(copy)]) == 1
    assert STALE in capsys.readouterr().err
    assert docs.main(["--write", "--doc", str(copy)]) == 0
    assert copy.read_text(encoding="utf-8") == text  # --write restores it, prose included
    assert docs.main(["--check", "--doc", str(copy)]) == 0


def test_only_the_text_between_the_markers_is_generated():
    text = docs.DOC.read_text(encoding="utf-8")
    head, rest = text.split(docs.START)
    table, tail = rest.split(docs.END)
    assert docs.render(f"prose before\n{docs.START}\nanything\n{docs.END}\nprose after\n") == (
        f"prose before\n{docs.START}{table}{docs.END}\nprose after\n")
    assert "## Policies" in head and "Without a config file" in tail
    with pytest.raises(ValueError, match="generated:policies"):
        docs.render(text.replace(docs.END, ""))


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def test_the_table_lists_every_policy_with_its_levels_config_and_frameworks():
    lines = docs.table().splitlines()
    header = _cells(lines[0])
    assert header == ["Policy", "Service", "What it checks", "Severity", "dev", "prod", "Config", "Frameworks",
                      "Remediation"]
    rows = {}
    for line in lines[2:]:
        cells = dict(zip(header, _cells(line)))
        assert len(cells) == len(header), line
        name = re.match(r"^`([a-z0-9-]+)`( \(S\))?$", cells["Policy"])
        rows[name.group(1)] = (cells, bool(name.group(2)))
    assert list(rows) == [p.name for p in all_policies()]
    dev, prod = _levels("dev"), _levels("prod")
    modules = {m.POLICY.name: m for m in policy_modules()}
    for name, policy in policies_by_name().items():
        cells, stack_marked = rows[name]
        assert (cells["Severity"], cells["dev"], cells["prod"]) == (policy.severity.value, dev[name], prod[name])
        assert set(re.findall(r"`(\w+)`", cells["Config"])) == (
            set(policy.config_schema.properties) if policy.config_schema else set()), name
        assert stack_marked == isinstance(policy, StackValidationPolicy), name
        assert cells["Frameworks"] == ", ".join(frameworks_of(policy)), name
        assert cells["Service"] == modules[name].__name__.split(".")[-2]
        assert cells["What it checks"] and cells["Remediation"], name
    assert rows["aws-rds-instance-enable-multi-az"][0]["Frameworks"] == "AWS FSBP RDS.5"
    assert "&lt;the lake key ARN>" in rows["aws-sns-topic-enable-kms"][0]["Remediation"]  # not an HTML tag


def test_the_command_prints_the_table():
    done = subprocess.run([sys.executable, "-m", "policy.docs"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == docs.table() + "\n"
