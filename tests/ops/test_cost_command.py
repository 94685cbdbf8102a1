"""`python -m lakehouse.ops cost`: the estimate of lakehouse.model.cost printed as a table and as JSON,
for both stacks, without AWS; bad input ends with exit code 2 and a message naming it."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
import yaml
from rich.console import Console

from lakehouse.model import cost
from lakehouse.model.config import load_stack_config
from lakehouse.ops import cli as ops

STACKS = ("dev", "prod")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = ops.main(list(argv), console=Console(file=out, width=250, color_system=None))
    return code, out.getvalue()


@pytest.mark.parametrize("stack", STACKS)
def test_the_table_prints_every_line_item_and_the_total(stack):
    est = cost.estimate(load_stack_config(stack), "us-east-1")
    code, text = run("cost", "--stack", stack)
    assert code == ops.EXIT_OK, text
    rows = [[c.strip() for c in r.strip().strip("│").split("│")] for r in text.splitlines() if r.startswith("│")]
    *items, total = rows  # body rows (the header is drawn with ┃)
    assert items == [[line.service, line.item, f"{line.quantity:,.3f}", line.unit, f"{line.unit_price:g}",
                      f"{line.monthly_usd:,.2f}", str(i)] for i, line in enumerate(est.lines, 1)]
    assert total == ["Total", "", "", "", "", f"{est.total:,.2f}", ""]
    for i, line in enumerate(est.lines, 1):
        assert f"  {i}. {line.assumption}" in text
    assert f"stack {stack} in us-east-1" in text and est.prices_source in text


@pytest.mark.parametrize("stack", STACKS)
def test_json_is_the_estimate(stack):
    code, text = run("cost", "--stack", stack, "--json")
    assert code == ops.EXIT_OK
    data = json.loads(text)
    assert data == json.loads(json.dumps(cost.estimate(load_stack_config(stack), "us-east-1").as_dict()))
    assert data["total_usd"] == pytest.approx(sum(line["monthly_usd"] for line in data["lines"]), abs=1e-3)


def test_stack_given_before_the_command_works_too():
    assert run("--stack", "prod", "cost", "--json")[1] == run("cost", "--stack", "prod", "--json")[1]


def test_unknown_stack_is_named():
    code, text = run("cost", "--stack", "staging2")
    assert code == ops.EXIT_ERROR
    assert "stack: got 'staging2'; allowed: one of the stacks with a Pulumi.<stack>.yaml: ['dev', 'prod']" in text


def test_missing_stack_is_asked_for():
    code, text = run("cost")
    assert code == ops.EXIT_ERROR and "cost needs --stack NAME" in text


def test_unknown_region_is_named_with_the_known_ones():
    code, text = run("--region", "ap-south-2", "cost", "--stack", "dev")
    assert code == ops.EXIT_ERROR
    assert "aws:region: got 'ap-south-2'; allowed: a region of the price table: ['us-east-1']" in text


def test_a_price_table_file_is_used_and_checked(tmp_path):
    tables = {"eu-west-1": {**cost.PRICE_TABLES["us-east-1"], "source": "test prices", "glue_dpu_hour_flex": 1.0}}
    good = tmp_path / "prices.yaml"
    good.write_text(yaml.safe_dump(tables))
    code, text = run("--region", "eu-west-1", "cost", "--stack", "dev", "--prices", str(good), "--json")
    assert code == ops.EXIT_OK, text
    glue = [line for line in json.loads(text)["lines"] if line["service"] == "Glue"]
    assert glue and all(line["unit_price"] == 1.0 for line in glue)  # dev runs FLEX

    bad = tmp_path / "bad.yaml"
    del tables["eu-west-1"]["athena_tb_scanned"]
    tables["eu-west-1"]["logs_ingest_gb"] = "cheap"
    bad.write_text(yaml.safe_dump(tables))
    code, text = run("--region", "eu-west-1", "cost", "--stack", "dev", "--prices", str(bad))
    assert code == ops.EXIT_ERROR
    assert f"{bad}: eu-west-1.athena_tb_scanned: got None; allowed: a number >= 0" in text
    assert f"{bad}: eu-west-1.logs_ingest_gb: got 'cheap'" in text

    code, text = run("cost", "--stack", "dev", "--prices", str(tmp_path / "absent.yaml"))
    assert code == ops.EXIT_ERROR and "cannot read it" in text
    (tmp_path / "broken.yaml").write_text("a: [")
    code, text = run("cost", "--stack", "dev", "--prices", str(tmp_path / "broken.yaml"))
    assert code == ops.EXIT_ERROR and "not YAML" in text


def test_the_module_entry_point_needs_no_aws(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    done = subprocess.run([sys.executable, "-m", "lakehouse.ops", "cost", "--stack", "prod", "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stack"] == "prod"
