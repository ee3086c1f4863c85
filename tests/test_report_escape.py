"""Properties of the escaping: whatever a trace or PR file holds, it stays inert."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from leastpriv_ci.report import escape

HOSTILE = st.text(
    alphabet=st.sampled_from(list("ab@#|`<>&\\\n\r[]()!*_~-:/ 1")) | st.characters(),
    max_size=80,
)


@given(HOSTILE)
def test_code_spans_stay_on_one_line_and_one_cell(value: str) -> None:
    span = escape.code_cell(value)
    assert "\n" not in span and "\r" not in span
    assert not re.search(r"(?<!\\)\|", span)  # no pipe can split a table cell
    if span:
        fence = re.match(r"`+", span)
        assert fence is not None
        inner = span[len(fence.group()):-len(fence.group())]
        assert span.endswith(fence.group())
        # the fence is longer than any backtick run inside, so nothing closes it early
        assert all(len(run) < len(fence.group()) for run in re.findall(r"`+", inner))


@given(HOSTILE)
def test_prose_has_no_tags_mentions_or_issue_links(value: str) -> None:
    text = escape.text(value)
    assert "<" not in text and ">" not in text
    assert not re.search(r"[@#][\w-]", text)
    assert "\n" not in text
    assert not re.search(r"(?<!\\)[`|\[\]:]", text)  # ":" too: "http://" autolinks


@given(HOSTILE)
def test_fenced_blocks_cannot_be_closed_from_inside(value: str) -> None:
    block = escape.fenced(value)
    fence = block.splitlines()[0]
    body = block[len(fence) + 1: -len(fence) - 1]
    assert body == value
    assert all(len(run) < len(fence) for run in re.findall(r"`+", body))


def test_prose_urls_are_not_autolinked() -> None:
    # GFM's extended autolink links "http://…" anywhere in prose; a backslash before the
    # colon breaks the scheme so the text shows but does not link.
    shown = escape.text("bucket/click http://1760000000/login or HTTPS://x for details")
    assert "http\\://1760000000/login" in shown
    assert "HTTPS\\://x" in shown
    assert not re.search(r"(?<!\\):", shown)


def test_code_spans_keep_colons_as_they_are() -> None:
    # Nothing links inside a code span, and copy-paste must give the exact ARN.
    assert escape.code("arn:aws:s3:::b/http://x") == "`arn:aws:s3:::b/http://x`"


def test_bidi_and_other_invisible_characters_are_shown_as_code_points() -> None:
    # "invoice<U+202E>fdp.exe" displays as "invoiceexe.pdf"; shown as an escape instead,
    # a reviewer sees that the name holds something odd.
    spoof = "bucket/invoice\u202efdp.exe \u2066x\u2069 \u200ey\u200f \u009b31m \U000e0041"
    expected = "bucket/invoice\\u202efdp.exe \\u2066x\\u2069 \\u200ey\\u200f \\u009b31m \\U000e0041"
    assert escape.code(spoof) == f"`{expected}`"
    assert escape.console(spoof) == expected
    assert escape.inline_html(spoof) == expected
    assert escape.text(spoof).replace("\\\\", "\\").replace("\\.", ".") == expected


def test_names_that_are_not_utf8_are_shown_as_code_points() -> None:
    # A file named b"app-\xff" is spelt "app-\udcff" by the walk: a lone surrogate,
    # which no UTF-8 comment, summary or console line can hold
    name = "app-\udcff/cdk.json"
    for shown in (escape.code(name), escape.console(name), escape.inline_html(name),
                  escape.text(name), escape.visible(name)):
        assert "\\udcff" in shown.replace("\\\\", "\\")
        shown.encode("utf-8")


def test_the_joiner_that_stops_mentions_is_kept() -> None:
    # _unlink's own U+200D stays invisible; one that arrived in the text is shown.
    assert escape.text("@team") == f"@{escape.ZWJ}team"
    assert escape.text("a\u200db") == "a\\\\u200db"


@given(HOSTILE)
def test_no_invisible_characters_reach_any_surface(value: str) -> None:
    unlinked = (escape.inline_html(value), escape.text(value))  # hold _unlink's own ZWJ
    for shown in (escape.code(value), escape.console(value),
                  *(s.replace(escape.ZWJ, "") for s in unlinked)):
        assert not any(unicodedata.category(c) in ("Cf", "Cc") for c in shown if c != "\t")


@given(HOSTILE)
def test_code_spans_outside_tables_hold_the_exact_text(value: str) -> None:
    # No backslash before "|": outside a table cell nothing would remove it again.
    span = escape.code(value)
    assert span.replace("\\|", "|") == span or "\\|" in escape.one_line(value)
    assert escape.code_cell(value) == span.replace("|", "\\|")
