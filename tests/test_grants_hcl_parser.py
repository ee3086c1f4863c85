"""The HCL parser without Lark's propagated positions: the same trees, the same positions."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import hcl2
import pytest
from lark import Tree
from lark.exceptions import LarkError

from fuzz import mutate
from leastpriv_ci.grants import hcl_parser
from leastpriv_ci.grants.hcl_parser import first_token, parse, span
from leastpriv_ci.grants.hcl_parser import line as line_of_tree

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted((ROOT / "tests" / "data").rglob("*.tf"))


def _positions(ours: Tree[Any], theirs: Tree[Any]) -> int:
    """Compare every node of two trees of one text: the same rule, and our line and span
    where python-hcl2's parser propagated them. Returns the nodes compared."""
    compared = 0
    for mine, lark_s in zip(ours.iter_subtrees(), theirs.iter_subtrees(), strict=True):
        assert mine.data == lark_s.data
        if lark_s.meta.empty:
            assert first_token(mine) is None
            continue
        assert (line_of_tree(mine), span(mine)) == (
            lark_s.meta.line, (lark_s.meta.start_pos, lark_s.meta.end_pos)), mine.data
        compared += 1
    return compared


def test_every_node_has_the_position_lark_would_propagate() -> None:
    assert len(FIXTURES) >= 10
    compared = sum(_positions(parse(path.read_text()), hcl2.parses_to_tree(path.read_text()))
                   for path in FIXTURES)
    assert compared > 3000


def test_mutated_files_too() -> None:
    """Odd but parsing HCL (the grants fuzz target's mutations) keeps the equivalence."""
    rng = random.Random(2026)
    parsed = 0
    for _ in range(300):
        text = mutate.text(rng.choice(FIXTURES).read_text(), rng)
        try:
            theirs = hcl2.parses_to_tree(text)
        except (LarkError, RecursionError):
            continue
        _positions(parse(text), theirs)
        parsed += 1
    assert parsed >= 30


def test_the_tables_are_cached_beside_the_module_or_in_the_user_s_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    beside = Path(hcl_parser.__file__).with_name(hcl_parser.CACHE_NAME)
    monkeypatch.setattr(hcl_parser.os, "access", lambda *_: True)
    assert hcl_parser._cache_path() == str(beside)
    # a read-only installation with no cache yet: the user's cache folder
    monkeypatch.setattr(hcl_parser.os, "access", lambda *_: False)
    monkeypatch.setattr(hcl_parser, "CACHE_NAME", ".not-there.cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert hcl_parser._cache_path() == str(tmp_path / "cache/leastpriv-ci/.not-there.cache")
    # nowhere writable: no cache, and no failure
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    assert hcl_parser._cache_path() is False
