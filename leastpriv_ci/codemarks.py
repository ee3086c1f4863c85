"""Code marks in the tool's messages: names set off as CommonMark code spans.

A message reads "`s3:GetObject` on `arn:aws:s3:::b/k` is granted and was never used" in
every output. The names come from traces and pull-request files, so a name may hold
backticks itself: :func:`mark` fences it with a run longer than any inside, as CommonMark
reads it, and :func:`spans` splits a message back into prose and code the same way, so
that the comment can show each name as code and the prose as inert text.
"""

from __future__ import annotations

import re
from bisect import bisect_right

_RUN = re.compile(r"`+")


def mark(value: object) -> str:
    """``value`` as a code span whose fence no backtick run inside can close."""
    text = str(value)
    if not text:
        return ""  # no span can hold nothing
    longest = max((len(run) for run in _RUN.findall(text)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each end of a span that has one at both (unless
    # it is only spaces), and a fence must not touch a backtick of the name
    pad = " " if text.strip(" ") and (text.startswith(("`", " ")) or text.endswith(("`", " "))) \
        else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def spans(text: str) -> list[tuple[bool, str]]:
    """``text`` as (is code, part) pieces, by CommonMark's rule: a backtick run opens a
    span that the next run of the same length closes; a run that nothing closes is
    literal text. In O(n log n) of the text, whatever its runs."""
    runs = [(m.start(), m.end()) for m in _RUN.finditer(text)]
    by_length: dict[int, list[int]] = {}
    for index, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(index)
    pieces: list[tuple[bool, str]] = []
    prose_from = 0
    index = 0
    while index < len(runs):
        start, end = runs[index]
        same = by_length[end - start]
        after = bisect_right(same, index)
        if after == len(same):  # nothing closes it: literal backticks
            index += 1
            continue
        closing = same[after]
        close_start, close_end = runs[closing]
        if start > prose_from:
            pieces.append((False, text[prose_from:start]))
        code = text[end:close_start]
        if len(code) >= 2 and code[0] == " " and code[-1] == " " and code.strip(" "):
            code = code[1:-1]
        pieces.append((True, code))
        prose_from = close_end
        index = closing + 1
    if prose_from < len(text):
        pieces.append((False, text[prose_from:]))
    return pieces
