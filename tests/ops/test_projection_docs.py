"""docs/benchmarks.md's Glue cost projection is generated (`python -m lakehouse.ops.projection_docs`): the
committed block is what lakehouse.model.cost projects now for the prod stack, an edited or stale copy is
caught, and --write restores it without touching the prose around it."""

from __future__ import annotations

import dataclasses
import re

import pytest

from lakehouse.model import cost
from lakehouse.model.config import load_stack_config
from lakehouse.ops import projection_docs

STALE = "run .venv/bin/python -m lakehouse.ops.projection_docs --write"


def block() -> str:
    text = projection_docs.DOC.read_text(encoding="utf-8")
    return text.split(projection_docs.START)[1].split(projection_docs.END)[0]


def test_the_doc_is_the_projection_the_code_gives():
    text = projection_docs.DOC.read_text(encoding="utf-8")
    assert projection_docs.render(text) == text, STALE


def test_the_block_holds_every_fhir_job_the_total_and_the_assumptions():
    cfg = load_stack_config("prod")
    run = cost.project_run(cfg, ["fhir"])
    text = block()
    for j in run.jobs:
        assert re.search(rf"^\| {j.key.split('.', 1)[1]} \| {j.workers} x {j.worker_type} {j.execution_class}, "
                         rf".*\| {j.dpu_hours:.3f} \| {j.usd:.3f} \|$", text, re.M)
    assert f"**{run.dpu_hours:.3f} DPU-h (${run.usd:.3f}) a run: target <= 0.5 DPU-h met.**" in text
    everything = cost.project_run(cfg)
    measured = sum(j.measured for j in everything.jobs)
    assert f"| **all** | {len(everything.jobs)} ({measured}) | **{everything.dpu_hours:.3f}** |" in text
    for a in cost.GLUE_PROJECTION_ASSUMPTIONS:
        assert f"- {a}\n" in text


@pytest.mark.parametrize("edit", [
    lambda t: re.sub(r"\*\*(\d\.\d{3}) DPU-h", "**0.100 DPU-h", t, count=1),
    lambda t: re.sub(r"^\| silver \|.*\n", "", t, count=1, flags=re.M),
], ids=["the-total", "a-job-dropped"])
def test_an_edited_copy_fails_the_check_and_write_restores_it(tmp_path, edit, capsys):
    text = projection_docs.DOC.read_text(encoding="utf-8")
    # the edit lands in the generated block (the prose before it has tables and figures of its own)
    before, block = text.split(projection_docs.START, 1)
    edited = before + projection_docs.START + edit(block)
    assert edited != text
    copy = tmp_path / "benchmarks.md"
    copy.write_text(edited, encoding="utf-8")
    assert projection_docs.main(["--check", "--doc", str(copy)]) == 1
    assert STALE in capsys.readouterr().err
    assert projection_docs.main(["--write", "--doc", str(copy)]) == 0
    assert copy.read_text(encoding="utf-8") == text  # prose included
    assert projection_docs.main(["--check", "--doc", str(copy)]) == 0


def test_other_prod_settings_make_the_committed_doc_stale_and_a_miss_is_printed(monkeypatch):
    text = projection_docs.DOC.read_text(encoding="utf-8")
    cfg = load_stack_config("prod")
    big = dataclasses.replace(cfg, job_settings={k: dataclasses.replace(s, worker_type="G.2X", number_of_workers=10)
                                                 for k, s in cfg.job_settings.items()})
    monkeypatch.setattr(projection_docs, "load_stack_config", lambda stack: big)
    assert projection_docs.render(text) != text
    assert "target <= 0.5 DPU-h **missed**" in projection_docs.section()


def test_only_the_text_between_the_markers_is_generated():
    generated = projection_docs.render(f"before\n{projection_docs.START}\nanything\n{projection_docs.END}\nafter\n")
    assert generated.startswith(f"before\n{projection_docs.START}\n{projection_docs.NOTE}\n")
    assert generated.endswith(f"{projection_docs.END}\nafter\n") and "anything" not in generated
    with pytest.raises(ValueError, match="generated:glue-projection"):
        projection_docs.render("no markers")
