"""The request context every traced call is known to have (``request_context.yaml``): the
condition keys a scan decides instead of leaving open."""

from __future__ import annotations

from leastpriv_ci.bundled import load


def traced_context() -> dict[str, object]:
    """Condition key → value for every call in a trace (a fresh copy)."""
    return dict(load("request_context.yaml"))
