"""python-hcl2's grammar, parsed without Lark's positions on every node.

Lark's ``propagate_positions`` (which python-hcl2's own parser sets) costs about 40 % of
a parse, and the scan reads the position of few nodes: attributes, blocks, objects,
heredocs, and the text of an expression it cannot resolve. The grammar keeps every token
in the tree (it filters none), so a node's first and last tokens give the line and span
Lark would have propagated to it (``tests/test_grants_hcl_parser.py`` checks that they
do).

The parser's tables are cached as Lark caches them (keyed by the grammar, the options and
Lark's version): beside this module, as python-hcl2 does (the action's image writes it
at build), else in the user's cache folder. A cold build takes about 2 s.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import hcl2.parser
from hcl2.postlexer import PostLexer
from lark import Lark, Token, Tree

CACHE_NAME = ".hcl-parser.cache"


@cache
def parser() -> Lark:
    """python-hcl2's LALR parser and post-lexer, without positions on the nodes."""
    return Lark.open("hcl2.lark", rel_to=hcl2.parser.__file__, parser="lalr",
                     postlex=PostLexer(), propagate_positions=False, cache=_cache_path())


def parse(text: str) -> Tree[Any]:
    """The parse tree of ``text`` (Lark's errors raised as they are)."""
    # python-hcl2's workaround: its grammar ends a line with a newline, and Lark has no EOF
    return parser().parse(text + "\n")


def first_token(tree: Tree[Any] | Token, *, last: bool = False) -> Token | None:
    """The first token of ``tree``'s text, or with ``last`` its last (None: it holds
    none)."""
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Token):
            return node
        stack.extend(node.children if last else reversed(node.children))
    return None


def line(tree: Tree[Any] | Token) -> int:
    """The line ``tree`` starts on (0: it holds no text)."""
    token = first_token(tree)
    return (token.line or 0) if token is not None else 0


def span(tree: Tree[Any]) -> tuple[int, int] | None:
    """The start and end offsets of ``tree``'s text (None: it holds none)."""
    first, last = first_token(tree), first_token(tree, last=True)
    if first is None or last is None or first.start_pos is None or last.end_pos is None:
        return None
    return first.start_pos, last.end_pos


def _cache_path() -> str | bool:
    """Where the parser's tables are kept: beside this module when that folder is
    writable (or the file is there), else in the user's cache folder; False: nowhere."""
    here = Path(__file__).with_name(CACHE_NAME)
    if here.exists() or os.access(here.parent, os.W_OK):
        return str(here)
    try:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        folder = root / "leastpriv-ci"
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # no home folder, or not writable
        return False
    return str(folder / CACHE_NAME)
