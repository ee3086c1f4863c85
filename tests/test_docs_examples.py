"""The docs' ``console`` examples of offline commands print what the docs say they print."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from leastpriv_ci.cli import main

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def _examples(doc: str) -> list[tuple[str, list[str], str]]:
    """Each ``$ leastpriv-ci explain`` command of a doc's console blocks (continuation
    lines joined) with the output written under it, up to the next command or a blank
    line."""
    found = []
    for block in BLOCK.findall((ROOT / doc).read_text()):
        lines = block.splitlines()
        index = 0
        while index < len(lines):
            line = lines[index]
            index += 1
            if not line.startswith("$ leastpriv-ci explain"):
                continue
            command = line[2:]
            while command.endswith("\\"):
                command = command[:-1] + lines[index].strip()
                index += 1
            output = []
            while index < len(lines) and lines[index] and not lines[index].startswith("$ "):
                output.append(lines[index])
                index += 1
            found.append((doc, shlex.split(command)[1:], "\n".join(output)))
    return found


EXAMPLES = _examples("docs/explain.md")


def test_the_explain_page_has_its_examples() -> None:
    assert len(EXAMPLES) == 5


@pytest.mark.parametrize(("doc", "argv", "expected"), EXAMPLES,
                         ids=[f"{d}:{' '.join(a[3:5])}" for d, a, _ in EXAMPLES])
def test_a_documented_explain_prints_what_the_doc_shows(
        doc: str, argv: list[str], expected: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the docs run them from the repository's root
    main(argv)
    assert capsys.readouterr().out.rstrip("\n") == expected, doc
