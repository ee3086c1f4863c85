"""Grants sources: one module per infrastructure format, each behind the same interface.

A source module defines::

    NAME: str                       # "cloudformation", "sam", "serverless", ...
    PRIORITY: int                   # optional; lower is asked first (default 50)
    def detect(path: Path) -> bool  # cheap: file name/suffix, a sniff of the first KBs
    def load(path: Path, context: ResolveContext, notices: Notices) -> GrantSet

Adding a format is adding a file here; :mod:`leastpriv_ci.grants.declared` finds it.
"""

from __future__ import annotations

from pathlib import Path

SNIFF_BYTES = 64 * 1024


def sniff(path: Path, size: int = SNIFF_BYTES) -> str:
    """The first ``size`` bytes of a file as text ('' when unreadable), for ``detect``."""
    try:
        with path.open("rb") as handle:
            return handle.read(size).decode("utf-8", errors="replace")
    except OSError:
        return ""
