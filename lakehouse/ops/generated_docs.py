"""A generated section of a document, between two markers, that a command rewrites (`--write`) or
checks (`--check`): the one mechanism of lakehouse.ops.cost_docs and lakehouse.ops.projection_docs."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import Callable, Sequence


def replace_section(text: str, start: str, end: str, note: str, section: str) -> str:
    """`text` with the part between `start` and `end` replaced by `note` and `section`."""
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"expected one {start} ... {end} section")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{note}\n\n{section}\n\n{end}{tail}"


def run(argv: Sequence[str] | None, *, prog: str, description: str, doc: Path, section: Callable[[], str],
        render: Callable[[str], str], stale: str) -> int:
    """The command: print the section, or `--write` it into `--doc`, or `--check` it (exit 1 and a diff
    when the doc's section is not the generated one; `stale` says what to run)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the section in the doc")
    mode.add_argument("--check", action="store_true", help="exit 1 when the doc's section is not the generated one")
    parser.add_argument("--doc", type=Path, default=doc, help=f"the document (default {doc.parent.name}/{doc.name})")
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        print(section())
        return 0
    text = args.doc.read_text(encoding="utf-8")
    wanted = render(text)
    if args.write:
        if wanted != text:
            args.doc.write_text(wanted, encoding="utf-8")
        print(f"{args.doc}: {'rewritten' if wanted != text else 'up to date'}")
        return 0
    if wanted == text:
        return 0
    sys.stdout.writelines(difflib.unified_diff(text.splitlines(keepends=True), wanted.splitlines(keepends=True),
                                               str(args.doc), "generated"))
    print(f"{args.doc} {stale}", file=sys.stderr)
    return 1
