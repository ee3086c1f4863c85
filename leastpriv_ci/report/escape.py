"""Escaping for Markdown, HTML and the console of everything derived from traces or
pull-request files.

Trace fields and PR files are hostile: a resource name can hold a table pipe, a
backtick run, ``<script>``, an ``@org/team`` mention, ``#123``, a terminal escape or a
line break followed by ``::error::`` (a workflow command when a GitHub runner reads the
output). Everything such text reaches in a comment, summary or console line goes
through one of these functions first.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit

from leastpriv_ci.codemarks import mark, spans

# U+200D between "@" / "#" and what follows stops GitHub's mention and issue autolinks
# without changing what a reader sees.
ZWJ = "\u200d"
MAX_CELL = 300
MAX_CONSOLE = 2000

# ":" is escaped because GFM's extended autolink turns "http://…" into a working link
# even in plain prose; "http\\://…" renders as the same text, unlinked.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Invisible characters that change how the text around them reads: Unicode format
# characters (bidi overrides and isolates such as U+202E and U+2066, marks such as
# U+200E, zero-width spaces and joiners) and the C1 controls (U+009B starts a terminal
# escape). They are shown as ``\u202e`` rather than dropped, so a reviewer sees that the
# name holds something odd instead of reading a spoofed one that looks clean.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc"})
_BACKTICK_RUN = re.compile(r"`+")
_AUTOLINK = re.compile(r"([@#])(?=[\w-])")


def _codepoint(match: re.Match[str]) -> str:
    char = match.group()
    if unicodedata.category(char) not in _INVISIBLE_CATEGORIES:
        return char
    number = ord(char)
    return f"\\u{number:04x}" if number <= 0xFFFF else f"\\U{number:08x}"


def visible(value: str) -> str:
    """``value`` with its invisible format and C1 control characters written as ``\\uXXXX``.

    Line breaks are kept: this is for text that stays multi-line (annotation messages).
    """
    return value if value.isascii() else _NON_ASCII.sub(_codepoint, value)


def one_line(value: str, limit: int = MAX_CELL) -> str:
    """Collapse line breaks and control characters, show invisible format characters
    (:func:`visible`); cut past ``limit`` with an ellipsis."""
    flat = visible(_CONTROL.sub("", _LINE_BREAKS.sub(" ", value)))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def console(value: str, limit: int = MAX_CONSOLE) -> str:
    """Untrusted text inside one console line: no line breaks (a line it started could be
    read as a workflow command), no control characters or terminal escapes."""
    return one_line(value, limit)


def html(value: str) -> str:
    """Escape ``&``, ``<``, ``>`` and double quotes for HTML text and attribute values."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def _unlink(value: str) -> str:
    return _AUTOLINK.sub(lambda m: m.group(1) + ZWJ, value)


def text(value: str, limit: int = MAX_CELL) -> str:
    """Untrusted text as inert Markdown prose: one line, no markup, no mentions or links."""
    flat = one_line(value, limit)
    return html(_unlink(_MARKDOWN_SPECIAL.sub(r"\\\1", flat)))


def code(value: str, limit: int = MAX_CELL) -> str:
    """Untrusted text as an inline code span in prose, a list or a heading.

    The fence is one backtick longer than the longest run inside, and nothing inside a
    code span is rendered as HTML, a mention or a link, so the reader sees (and copies)
    the exact name. Not for table cells: use :func:`code_cell` there.
    """
    return mark(one_line(value, limit))


def code_cell(value: str, limit: int = MAX_CELL) -> str:
    """:func:`code` for a GFM table cell: ``|`` escaped as ``\\|``.

    GFM splits a row into cells before it parses code spans, so an unescaped pipe would
    end the cell; the table parser removes the backslash again, so the cell still shows
    ``|``. Outside a table nothing removes it, which is why :func:`code` does not escape.
    """
    return mark(one_line(value, limit).replace("|", "\\|"))


def prose(value: str, limit: int = MAX_CELL, *, cell: bool = False) -> str:
    """Untrusted text with code marks (a finding's message, a note) as inert Markdown:
    what the marks set off shows as code (:func:`code`, or :func:`code_cell` when
    ``cell``), the rest as :func:`text`. A backtick run that nothing closes stays text."""
    shown = []
    for is_code, part in spans(one_line(value, limit)):
        if is_code:
            shown.append(mark(part.replace("|", "\\|") if cell else part))
        else:
            shown.append(text(part, limit))
    return "".join(shown)


def fenced(body: str, language: str = "") -> str:
    """A fenced code block whose fence no line of ``body`` can close."""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{body}\n{fence}"


def url(value: str) -> str | None:
    """A link target, percent-encoded; ``None`` unless it is an http(s) URL."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return quote(value, safe=":/?#[]@!$&'*+,;=%-._~")


def link(label: str, target: str | None) -> str:
    """A Markdown link with escaped text, or just the escaped text without a safe target."""
    safe = url(target) if target else None
    shown = text(label)
    if safe is None:
        return shown
    # Parentheses and quotes are percent-encoded so the target cannot end the link early.
    safe = safe.replace("(", "%28").replace(")", "%29").replace("'", "%27").replace('"', "%22")
    return f"[{shown}]({safe})"


def inline_html(value: str, limit: int = MAX_CELL) -> str:
    """Untrusted text inside an HTML element (``<summary>``, ``<code>``): no tags, no mentions."""
    return html(_unlink(one_line(value, limit)))
