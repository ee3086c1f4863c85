"""Segment documents → Access records: what each principal really did.

:func:`observe` is the stage's entry point; see ``docs/observe.md``.
"""

from __future__ import annotations

from leastpriv_ci.usage.observe import observe

__all__ = ["observe"]
