"""The time window traces are read from, and its split into X-Ray-sized chunks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leastpriv_ci.errors import UserError
from leastpriv_ci.notices import Notices

# GetTraceSummaries refuses a time range longer than a day.
MAX_CHUNK = timedelta(hours=24)
# X-Ray keeps trace data for 30 days: nothing older can be read.
RETENTION = timedelta(days=30)
RETENTION_NOTICE = "x-ray-retention"
DEFAULT_SINCE = timedelta(hours=1)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True, slots=True)
class TraceWindow:
    """A half-open UTC time range ``[start, end)`` to read traces from."""

    start: datetime
    end: datetime

    def chunks(self, size: timedelta = MAX_CHUNK) -> Iterator[TraceWindow]:
        """Consecutive sub-windows of at most ``size`` covering the whole window."""
        start = self.start
        while start < self.end:
            end = min(start + size, self.end)
            yield TraceWindow(start, end)
            start = end

    @classmethod
    def from_options(
        cls,
        since: str | None,
        start: str | None,
        end: str | None,
        now: datetime | None = None,
        notices: Notices | None = None,
    ) -> TraceWindow:
        """Build the window from ``--since`` or ``--start``/``--end`` (default: the last hour).

        A window starting in the future is refused; its part older than X-Ray keeps traces
        is left out (noted in ``notices``): asking for it would only cost calls.
        """
        now = now or datetime.now(UTC)
        if since is not None and start is not None:
            raise UserError("--since and --start exclude each other; pass one of them")
        stop = parse_time(end, "--end") if end is not None else now
        if start is not None:
            begin = parse_time(start, "--start")
        else:
            length = parse_duration(since) if since is not None else DEFAULT_SINCE
            try:
                begin = stop - length
            except OverflowError:  # before year 1: older than X-Ray keeps, cut below
                begin = datetime.min.replace(tzinfo=UTC)
        if begin >= stop:
            raise UserError(
                f"the trace window is empty: start {begin.isoformat()} is not before end "
                f"{stop.isoformat()}"
            )
        if begin > now:
            raise UserError(
                f"the trace window starts in the future ({begin.isoformat()}, now "
                f"{now.isoformat(timespec='seconds')}); check --start/--end"
            )
        oldest = now - RETENTION
        if begin < oldest:
            if stop <= oldest:
                raise UserError(
                    f"the trace window ends {stop.isoformat()}, before the oldest traces "
                    f"X-Ray keeps ({RETENTION.days} days); check --start/--end"
                )
            if notices is not None:
                notices.add(RETENTION_NOTICE, f"X-Ray keeps traces for {RETENTION.days} days: "
                            "the window was read from the oldest it keeps",
                            f"{begin.isoformat()} -> {oldest.isoformat(timespec='seconds')}")
            begin = oldest
        return cls(begin, stop)


def parse_duration(text: str, option: str = "--since") -> timedelta:
    """``30m``, ``2h``, ``1d``, ``1w``, ``90s`` → a positive :class:`timedelta`."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise UserError(
            f"{option} {text!r} is not a duration; use a number and a unit, e.g. 30m, 2h, 1d"
        )
    try:
        return timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))})
    except OverflowError:
        raise UserError(f"{option} {text!r} is longer than any window X-Ray keeps "
                        f"({RETENTION.days} days)") from None


def parse_time(text: str, option: str) -> datetime:
    """An ISO 8601 date or time; without a zone it is UTC."""
    try:
        value = datetime.fromisoformat(re.sub(r"[zZ]$", "+00:00", text.strip()))
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise UserError(
            f"{option} {text!r} is not an ISO 8601 time in range; use e.g. "
            "2026-01-31T12:00:00Z"
        ) from None
