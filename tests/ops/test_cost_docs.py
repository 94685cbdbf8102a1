"""docs/cost.md's estimates are generated (`python -m lakehouse.ops.cost_docs`): the committed block is
what `python -m lakehouse.ops cost` prints now, an edited or stale copy is caught, and --write restores
it without touching the prose around it."""

from __future__ import annotations

import re

import pytest

from lakehouse.model import cost
from lakehouse.ops import cost_docs

STALE = "run .venv/bin/python -m lakehouse.ops.cost_docs --write"


def test_the_doc_is_what_the_cost_command_prints():
    text = cost_docs.DOC.read_text(encoding="utf-8")
    assert cost_docs.render(text) == text, STALE


def test_the_block_holds_each_stacks_printout_and_total():
    text = cost_docs.DOC.read_text(encoding="utf-8")
    block = text.split(cost_docs.START)[1].split(cost_docs.END)[0]
    assert cost_docs.stacks() == ["dev", "prod"]
    for stack in cost_docs.stacks():
        est = cost_docs.cli.cost(stack, None, None)
        assert f"$ python -m lakehouse.ops cost --stack {stack}\n" in block
        assert re.search(rf"│ Total +│.*│ +{re.escape(f'{est.total:,.2f}')} │", block)
        for i, line in enumerate(est.lines, 1):
            assert f"  {i}. {line.assumption}" in block
    assert "| **total** |" in block and "Glue crawlers" in block and "Step Functions" in block


@pytest.mark.parametrize("edit", [
    lambda t: re.sub(r"(│ Total +│.*│ +)(\d[\d,]*\.\d\d)", lambda m: m.group(1) + "1.00", t, count=1),
    lambda t: re.sub(r"^│ Step Functions .*\n", "", t, count=1, flags=re.M),
    lambda t: t.replace("| **total** |", "| **sum** |", 1),
], ids=["a-total", "a-line-dropped", "the-service-table"])
def test_an_edited_copy_fails_the_check_and_write_restores_it(tmp_path, edit, capsys):
    text = cost_docs.DOC.read_text(encoding="utf-8")
    edited = edit(text)
    assert edited != text
    copy = tmp_path / "cost.md"
    copy.write_text(edited, encoding="utf-8")
    assert cost_docs.main(["--check", "--doc", str(copy)]) == 1
    assert STALE in capsys.readouterr().err
    assert cost_docs.main(["--write", "--doc", str(copy)]) == 0
    assert copy.read_text(encoding="utf-8") == text  # prose included
    assert cost_docs.main(["--check", "--doc", str(copy)]) == 0


def test_a_price_change_makes_the_committed_doc_stale(monkeypatch):
    """The block follows the code: a different price is a different doc."""
    text = cost_docs.DOC.read_text(encoding="utf-8")
    tables = {r: {**t} for r, t in cost.PRICE_TABLES.items()}
    tables["us-east-1"]["cloudwatch_dashboard_month"] = 4.0
    monkeypatch.setattr(cost, "PRICE_TABLES", tables)  # the table the cost command prices with
    assert cost_docs.cli.model_cost is cost
    assert cost_docs.render(text) != text


def test_only_the_text_between_the_markers_is_generated():
    generated = cost_docs.render(f"before\n{cost_docs.START}\nanything\n{cost_docs.END}\nafter\n")
    assert generated.startswith(f"before\n{cost_docs.START}\n{cost_docs.NOTE}\n")
    assert generated.endswith(f"{cost_docs.END}\nafter\n") and "anything" not in generated
    with pytest.raises(ValueError, match="generated:cost"):
        cost_docs.render("no markers")
