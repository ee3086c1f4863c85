"""IAM's wildcard rules for action names: ``*`` is any run, ``?`` one character.

There are no character classes (``[`` is a literal), unlike ``fnmatch``.
"""

from __future__ import annotations

import re
from functools import lru_cache


def wildcard_regex(pattern: str, *, case_sensitive: bool) -> re.Pattern[str]:
    """Compile an IAM wildcard pattern to an anchored regular expression."""
    return _compile(pattern, case_sensitive)


@lru_cache(maxsize=65536)
def _compile(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    flags = re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE
    return re.compile("".join(parts), flags)


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern
