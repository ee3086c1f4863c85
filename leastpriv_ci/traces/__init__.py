"""Trace sources: each yields :class:`RawTrace` items, streaming, never the whole input.

A source does no interpretation: segment documents stay as X-Ray stores them (JSON
text), and :mod:`leastpriv_ci.usage` decodes and interprets them.
"""

from __future__ import annotations

from typing import NamedTuple


class RawTrace(NamedTuple):
    """One trace's segment documents, as read from a file or the X-Ray API.

    ``segments`` holds each segment document as JSON text (``str``/``bytes``), or as an
    already-decoded mapping when the source had to decode it (raw-segment JSON Lines).
    ``where`` names the input for messages: ``FILE:LINE`` / ``FILE#N`` or
    ``xray:TRACE_ID``. A named tuple: one is made for every trace read, and a tuple is
    the cheapest record to make.
    """

    trace_id: str | None
    segments: tuple[str | bytes | dict[str, object], ...]
    where: str
    # X-Ray marked it past its trace size limit (``LimitExceeded``): segments are missing
    truncated: bool = False
