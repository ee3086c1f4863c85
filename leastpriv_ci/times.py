"""Epoch seconds read from input (trace timestamps, policy dates) as UTC times.

Input may hold any number: a hostile trace's ``start_time`` of ``1e300``, a policy's
``DateGreaterThan`` of ``99999999999999999``. No ``datetime`` holds those, and Python
raises three different errors for them; these helpers answer ``None`` or show the number.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc(epoch: float) -> datetime | None:
    """``epoch`` seconds as a UTC time; ``None`` when no date is that far off (or it is
    not a number: infinity, NaN)."""
    try:
        return datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def shown(epoch: float) -> str:
    """``2023-11-14 22:13:20 UTC``, or the number itself when it is no date."""
    when = utc(epoch)
    if when is None:
        return f"{epoch!r} (epoch seconds, no date)"
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")
