"""Terraform's operators and built-in functions in the offline evaluator: what they answer
on known values, and that what is not known offline (or refused) stays unknown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from leastpriv_ci.grants.hcl import Evaluator, HclFile, descend
from leastpriv_ci.grants.hcl_values import Unknown

VARIABLES: dict[str, Any] = {
    "var.yes": True,
    "var.no": False,
    "var.nothing": None,
    "var.empty": {},
    "var.names": ["a"],
    "var.tags": {"team": "orders"},
    "var.big": "x" * 200_000,
}


def _evaluate(expression: str) -> Any:
    def resolve(path: list[str], evaluator: Evaluator) -> Any:
        spelled = ".".join(path[:2])
        if spelled not in VARIABLES:
            return Unknown(spelled)
        return descend(VARIABLES[spelled], path[2:], ".".join(path))

    notices: list[tuple[str, str, str]] = []
    evaluator = Evaluator(resolve, Path("."), lambda *notice: notices.append(notice))
    return evaluator.evaluate_text(expression, HclFile(Path("main.tf"), ""))


UNKNOWN = object()  # the expected answer when Terraform's value is not known offline


def _assert_answers(expression: str, expected: Any) -> None:
    """``expression`` evaluates to ``expected``, of its type (a set read as a list), or to
    an unknown value for UNKNOWN."""
    value = _evaluate(expression)
    if expected is UNKNOWN:
        assert isinstance(value, Unknown)
    else:
        shown = list(value) if isinstance(expected, list) else value
        assert shown == expected and type(shown) is type(expected)


@pytest.mark.parametrize(("expression", "expected"), [
    ("var.yes && !var.no", True),
    ("var.no || var.yes", True),
    ("var.no && var.unknown", False),  # a known side decides
    ("var.unknown || var.yes", True),
    ("var.unknown && var.yes", UNKNOWN),
    ("!var.unknown", UNKNOWN),
    ("var.yes && !var.no ? 1 : 0", 1),
    ("1 + 2 * 3", 7),
    ("-2 + 5", 3),
    ("4 / 2", 2),
    ("5 / 2", 2.5),
    ("7 % 3", 1),
    ("-7 % 3", UNKNOWN),  # Go's remainder is not Python's
    ("1 / 0", UNKNOWN),
    ("2 < 3", True),
    ("3 >= 4", False),
    ("true == 1", False),  # unlike Python
    ("var.nothing == null", True),
    ("var.unknown == null", UNKNOWN),
    ('"a" != "b"', True),
    ("1234567890123456789", UNKNOWN),  # longer than any count: not read
    ("99999999 * 99999999 * 99999999", UNKNOWN),  # past the numbers evaluated
])
def test_operators(expression: str, expected: Any) -> None:
    _assert_answers(expression, expected)


@pytest.mark.parametrize(("expression", "expected"), [
    ('format("%v:*", "arn:aws:logs:x")', "arn:aws:logs:x:*"),
    ('format("%s-%d-%v-%v", "a", 3, true, 1.5)', "a-3-true-1.5"),
    ('format("%q", "x")', '"x"'),
    ('format("%t", false)', "false"),
    ('format("%05.1f%%", 2.25)', "002.2%"),
    ('format("%[1]s", "a")', UNKNOWN),
    ('format("%s %s", "a")', UNKNOWN),
    ('format("%09999999d", 1)', UNKNOWN),
    ('lookup(var.tags, "team")', "orders"),
    ('lookup(var.tags, "owner", null)', None),
    ('lookup(var.unknown, "team", "x")', UNKNOWN),
    ('try(lookup(var.tags, "owner"), "fallback")', "fallback"),
    ('try(var.tags.owner, var.names[3], "fallback")', "fallback"),
    ("try(var.unknown, \"fallback\")", UNKNOWN),  # it may exist
    ("can(var.empty.key)", False),
    ("can(var.tags.team)", True),
    ('coalesce(null, "", "x")', "x"),
    ('coalesce(var.unknown, "x")', UNKNOWN),
    ('coalescelist([], ["b"])', ["b"]),
    ('compact(["a", "", null])', ["a"]),
    ('compact(["a", var.unknown])', UNKNOWN),
    ("merge({a = 1}, {b = 2}, null, {a = 3})", {"a": 3, "b": 2}),
    ("keys({b = 1, a = 2})", ["a", "b"]),
    ("values({b = 1, a = 2})", [2, 1]),
    ('element(["a", "b"], 3)', "b"),
    ('slice(["a", "b", "c"], 1, 3)', ["b", "c"]),
    ('slice(["a"], 0, 2)', UNKNOWN),
    ('zipmap(["a", "b"], [1, 2])', {"a": 1, "b": 2}),
    ('length(["a", var.unknown])', 2),
    ("length(var.tags)", 1),
    ('contains(["a", "b"], "b")', True),
    ('contains([true], 1)', False),
    ('split(",", "a,b")', ["a", "b"]),
    ('startswith("arn:aws:s3", "arn:")', True),
    ("min(3, 1, 2)", 1),
    ('replace("a-b-c", "-", "_")', "a_b_c"),
    ('replace("s3_read", "/[^0-9A-Za-z]*/", "")', "s3read"),
    ('replace("a-b", "/[^a-z]*/", "_")', "_a_b_"),  # as Go: no empty match after a match
    ('replace("ab", "/[a]?/", "-")', "-b-"),
    ('replace("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "/(a+)+$/", "")', UNKNOWN),  # backtracks
    ('replace("aaaa", "/\\w*\\d/", "")', UNKNOWN),  # more than one class; \w is not RE2's
    ('replace("orders-api_v2", "/[^[:alnum:]]/", "")', UNKNOWN),  # not Python's syntax
    ('replace("ab", "/a*b*/", "")', UNKNOWN),  # two repetitions
    ('replace("ab", "/[a]/", "$1")', UNKNOWN),
    ('replace("ab", "/[z-a]/", "")', UNKNOWN),  # not an expression
    ('replace("ab", "/[a--b]/", "")', UNKNOWN),  # a set operation to Python
    ("upper(var.unknown)", UNKNOWN),
])
def test_functions(expression: str, expected: Any) -> None:
    _assert_answers(expression, expected)


def test_concat_keeps_what_is_known_beside_what_is_not() -> None:
    first, second = _evaluate('concat(["a"], [var.unknown])')
    assert first == "a"
    assert isinstance(second, Unknown)


@pytest.mark.parametrize("expression", [
    'replace(var.big, "", var.big)',  # 40 GB if made
    'replace(var.big, "x", "yy")',
    'replace("ab", "/a/", var.big)',
    'join("", [var.big, var.big])',
    'format("%99999s%99999s%99999s", "a", "b", "c")',
    'format("%.99999f%.99999f%.99999f", 1, 2, 3)',
    'format("%s%s", var.big, var.big)',
])
def test_strings_past_the_limit_are_unknown_and_never_made(expression: str) -> None:
    assert isinstance(_evaluate(expression), Unknown)


@pytest.mark.parametrize(("expression", "expected"), [
    # maps and sets iterate in lexical order; a set has no index
    ('[for k, v in {b = "x", a = "y"} : "${k}=${v}"]', ["a=y", "b=x"]),
    ('tolist(toset(["b", "a", "b"]))', ["a", "b"]),
    ('element(toset(["zeta", "alpha"]), 0)', UNKNOWN),
    ("toset([true, 1])", UNKNOWN),
    # an empty list is a value to coalesce, not to coalescelist
    ('coalesce([], ["a"])', []),
    # format as Terraform's verbs do
    ('format("%#v", "hello")', '"hello"'),
    ('format("%v", ["a", "b"])', '["a","b"]'),
    ('format("%s", ["a"])', UNKNOWN),
    ('format("%08b|%-4b|", 5, 2)', "00000101|10  |"),
    ('format("%c", 65)', UNKNOWN),
    ('format("%d", 1.5)', UNKNOWN),
    ('format("%x", 255)', "ff"),
    ('tostring(["a"])', UNKNOWN),
    ('lower(["A"])', UNKNOWN),
    ('upper("straße")', UNKNOWN),  # Go keeps ß
    ('length("👍🏽")', UNKNOWN),  # one grapheme cluster, two code points
    ("concat()", UNKNOWN),
    ('split(",", ["a,b"])', UNKNOWN),
    ('replace(["ab"], "a", "")', UNKNOWN),
    ("[true] == [1]", False),
    # what holds a missing value fails as a whole; && and || evaluate both sides
    ("can([var.empty.key])", False),
    ('try([var.tags.owner], ["x"])', ["x"]),
    ("var.no && var.empty.key", UNKNOWN),
    ("can(var.no && var.empty.key)", False),
    # an object key not known offline makes its keys unknown
    ('lookup(merge({dev = "a"}, {(var.unknown) = "b"}), "dev")', UNKNOWN),
    ("keys({(var.unknown) = 1})", UNKNOWN),
    ("length({(var.unknown) = 1})", UNKNOWN),
])
def test_what_terraform_answers_differently_from_python(expression: str, expected: Any) -> None:
    _assert_answers(expression, expected)
