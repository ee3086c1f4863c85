"""Names in messages are CommonMark code spans that no backtick inside them can end, and
the comment reads them back as CommonMark does."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from leastpriv_ci.analysis.severity import get_rules
from leastpriv_ci.codemarks import mark, spans
from leastpriv_ci.report import escape

NAMES = st.text(alphabet=st.sampled_from(list("ab`` :/*|@#<>")), min_size=1, max_size=40)
PROSE = st.text(alphabet=st.sampled_from(list("ab :;,()@#<>|*_")), max_size=30)


@given(NAMES)
def test_a_marked_name_reads_back_whole(name: str) -> None:
    assert spans(mark(name)) == [(True, name)]


@given(PROSE, NAMES, PROSE.filter(bool), NAMES)
def test_no_name_can_end_its_mark_or_open_another(before: str, first: str, between: str,
                                                  second: str) -> None:
    text = f"{before}{mark(first)}{between}{mark(second)}"
    expected = [(False, before)] if before else []
    # (two marks must have prose between them: CommonMark reads `a``b` as one span)
    expected += [(True, first), (False, between), (True, second)]
    assert spans(text) == expected


def test_spans_follow_commonmark() -> None:
    # CommonMark 0.31, "Code spans": a run closes only on a run of its own length, one
    # space is stripped from each end when both have one, an unclosed run is literal
    assert spans("`foo`") == [(True, "foo")]
    assert spans("`` foo ` bar ``") == [(True, "foo ` bar")]
    assert spans("` `` `") == [(True, "``")]
    assert spans("`  ``  `") == [(True, " `` ")]
    assert spans("`   `") == [(True, "   ")]  # only spaces: kept
    assert spans("```foo``") == [(False, "```foo``")]
    assert spans("`foo``bar``") == [(False, "`foo"), (True, "bar")]
    assert spans("a `b` c ``d`` `e") == [
        (False, "a "), (True, "b"), (False, " c "), (True, "d"), (False, " `e")]


def test_many_unclosed_runs_are_read_in_one_pass() -> None:
    # runs of every length, none closed: each is looked up, not searched for
    text = " ".join("`" * n for n in range(1, 3000))
    assert spans(text) == [(False, text)]


def test_a_finding_message_fences_a_name_that_holds_backticks() -> None:
    message = get_rules().message("excess", "unused", action="s3:GetObject",
                                  resource="arn:aws:s3:::b/a`b``c")
    assert message == "`s3:GetObject` on ```arn:aws:s3:::b/a`b``c``` is granted and was never used"
    assert [p for code, p in spans(message) if code] == ["s3:GetObject", "arn:aws:s3:::b/a`b``c"]
    # braces in a value are text, not format fields
    assert "`{x}`" in get_rules().message("excess", "unused", action="a:B", resource="{x}")


@given(PROSE, NAMES)
def test_marked_prose_shows_names_as_code_and_the_rest_inert(before: str, name: str) -> None:
    shown = escape.prose(f"{before}{mark(name)} was used", cell=True)
    prose_part = shown[:len(escape.text(before))] if before else ""
    assert prose_part == escape.text(before)
    assert not re.search(r"(?<!\\)[<>]", shown.replace(escape.code_cell(name), ""))
    assert escape.code_cell(name) in shown


def test_a_control_character_dropped_from_a_name_cannot_close_its_mark_early() -> None:
    # The mark's fence is chosen for the name as it is; the comment drops control
    # characters, which would join k`\x00` into a run as long as the fence
    name = "arn:aws:s3:::b/k`\x00`me@.evil.com"
    message = get_rules().message("excess", "unused", action="s3:GetObject", resource=name)
    shown = escape.prose(message, cell=True)
    assert shown.startswith("`s3:GetObject` on ```arn:aws:s3:::b/k``me@.evil.com``` is ")
    assert shown.endswith(" granted and was never used")


def test_a_long_text_is_cut_by_what_it_shows_never_inside_a_name() -> None:
    # Each invisible character is shown as six ("\u202e"): the cut counts those
    name = "arn:aws:s3:::b/k" + "\u202e" * 40
    message = get_rules().message("excess", "unused", action="s3:GetObject", resource=name)
    fix = "narrow it to " + ", ".join(mark(f"arn:aws:s3:::b/{n:03d}") for n in range(40))
    shown = escape.prose(f"{message}; {fix}", 600, cell=True, cut=" … (more below)")
    assert shown.endswith(" … \\(more below\\)")
    assert "``` arn:aws:s3:::b/k" not in shown  # no pad: the name has no edge backtick
    assert "`arn:aws:s3:::b/k" + "\\u202e" * 40 + "`" in shown
    # every name shown is whole
    codes = [part for code, part in spans(shown.replace("\\(", "(")) if code]
    assert codes[2:] == [f"arn:aws:s3:::b/{n:03d}" for n in range(len(codes) - 2)]
    assert len(shown) <= 600 + shown.count("\\")  # the limit is on what a reader sees


@given(st.text(alphabet=st.sampled_from(list("@#.-_ab\\")), max_size=20))
def test_every_at_and_hash_in_prose_is_followed_by_the_joiner(value: str) -> None:
    # GFM reads e-mail autolinks (me@.evil.com) after resolving the escapes ("@\\.")
    shown = escape.text(value)
    assert shown.count("@") == shown.count("@\u200d")
    assert shown.count("#") == shown.count("#\u200d")
