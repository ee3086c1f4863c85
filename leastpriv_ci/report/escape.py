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
# name holds something odd instead of reading a spoofed one that looks clean. Lone
# surrogates too: a file name that is not UTF-8, as the walk spells it, which no UTF-8
# output can hold.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Cs"})
_BACKTICK_RUN = re.compile(r"`+")
# After every "@" and "#", whatever follows: the escaping before it ("@\\.") hides what
# GFM reads after its escapes are resolved (an e-mail autolink "me@.evil.com")
_AUTOLINK = re.compile(r"([@#])")


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


def _flat(value: str) -> str:
    """Line breaks as spaces, control characters dropped, invisible format characters
    shown (:func:`visible`)."""
    return visible(_CONTROL.sub("", _LINE_BREAKS.sub(" ", value)))


def one_line(value: str, limit: int = MAX_CELL) -> str:
    """Collapse line breaks and control characters, show invisible format characters
    (:func:`visible`); cut past ``limit`` with an ellipsis."""
    flat = _flat(value)
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


def prose(value: str, limit: int = MAX_CELL, *, cell: bool = False, cut: str = "…") -> str:
    """Text of the tool's with code marks (a finding's message, a note) as inert
    Markdown: what the marks set off shows as code (:func:`code`, or :func:`code_cell`
    when ``cell``), the rest as :func:`text`. A backtick run that nothing closes stays
    text.

    The marks are read before anything is flattened (a control character dropped from a
    name could join its backticks into a fence). Past ``limit`` characters, as shown,
    it is cut between names, never inside one, and ends with ``cut``."""
    pieces = [(is_code, _flat(part)) for is_code, part in spans(value)]
    if sum(len(mark(p)) if c else len(p) for c, p in pieces) > limit:
        pieces = [*_cut(pieces, limit - len(cut)), (False, cut)]
    return "".join(mark(part.replace("|", "\\|") if cell else part) if is_code
                   else text(part, len(part)) for is_code, part in pieces)


def _cut(pieces: list[tuple[bool, str]], room: int) -> list[tuple[bool, str]]:
    """The first pieces that fit in ``room``: whole names, prose cut at a space."""
    kept: list[tuple[bool, str]] = []
    for is_code, part in pieces:
        size = len(mark(part)) if is_code else len(part)
        if size <= room:
            kept.append((is_code, part))
            room -= size
            continue
        if not is_code:
            space = part.rfind(" ", 0, room)
            kept.append((False, part[:space if space > 0 else room]))
        break
    if kept and not kept[-1][0]:
        kept[-1] = (False, kept[-1][1].rstrip(",;: "))
    return kept


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
