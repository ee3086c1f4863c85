"""The command-line options that choose a trace source, shared by every subcommand.

``--traces`` reads files (or stdin); without it the traces come from the X-Ray API over
a time window.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from leastpriv_ci.errors import UserError
from leastpriv_ci.notices import Notices
from leastpriv_ci.traces import RawTrace
from leastpriv_ci.traces.window import TraceWindow, parse_duration

MAX_SETTLE = 15 * 60  # seconds: X-Ray indexes a trace within minutes, not hours
_ZERO = re.compile(r"^\s*0+(?:\.0*)?\s*[smhdw]?\s*$", re.IGNORECASE)

__all__ = ["TraceWindow", "add_trace_arguments", "open_traces"]


def _concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to 64")
    return value


def add_trace_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the trace-source options (files, or the X-Ray API and its window) to ``parser``."""
    from leastpriv_ci.traces.xray import DEFAULT_CONCURRENCY

    group = parser.add_argument_group(
        "traces", "read exported trace files with --traces, or else the X-Ray API"
    )
    group.add_argument(
        "--traces",
        action="append",
        type=Path,
        metavar="FILE",
        help="an X-Ray export (BatchGetTraces JSON, trace JSON, JSON Lines), a directory "
        "of them, or - for stdin; repeatable",
    )
    group.add_argument(
        "--since",
        metavar="DURATION",
        help="read X-Ray traces from this long ago until --end or now, e.g. 30m, 2h, 1d "
        "(default 1h)",
    )
    group.add_argument("--start", metavar="TIME", help="window start, ISO 8601 (UTC if no zone)")
    group.add_argument("--end", metavar="TIME", help="window end, ISO 8601 (default: now)")
    group.add_argument(
        "--filter-expression",
        metavar="EXPR",
        help="an X-Ray filter expression, passed to GetTraceSummaries as is",
    )
    group.add_argument(
        "--xray-group",
        metavar="NAME",
        help="use this X-Ray group's filter expression (joined to --filter-expression by AND)",
    )
    group.add_argument(
        "--settle-time",
        metavar="DURATION",
        help="after the window's end, list its last minutes again for this long, e.g. 30s, "
        "to read the traces X-Ray indexes late (default: no wait)",
    )
    group.add_argument("--region", metavar="REGION", help="AWS region of the X-Ray API")
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="X-Ray endpoint to call instead of the public one (e.g. a VPC endpoint)",
    )
    group.add_argument(
        "--max-concurrency",
        type=_concurrency,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"BatchGetTraces calls in flight (default {DEFAULT_CONCURRENCY})",
    )


def open_traces(
    args: argparse.Namespace, notices: Notices, session: Any = None
) -> Iterator[RawTrace]:
    """The traces the options choose: the ``--traces`` files, else the X-Ray API.

    ``session`` is a boto3 session for the API (default: the default credential chain).
    """
    paths: list[Path] | None = getattr(args, "traces", None)
    if paths:
        from leastpriv_ci.traces.files import iter_files

        api_only = [
            flag
            for flag, name in (
                ("--since", "since"),
                ("--start", "start"),
                ("--end", "end"),
                ("--filter-expression", "filter_expression"),
                ("--xray-group", "xray_group"),
                ("--settle-time", "settle_time"),
            )
            if getattr(args, name, None) is not None
        ]
        if api_only:
            one = len(api_only) == 1
            raise UserError(
                f"{', '.join(api_only)} {'selects' if one else 'select'} traces from the "
                f"X-Ray API and {'does' if one else 'do'} not apply to --traces files; drop "
                "one or the other"
            )
        return iter_files(paths, notices)
    return _from_api(args, notices, session)


def _settle_seconds(text: str | None) -> float:
    if not text or _ZERO.match(text):  # 0 turns it off, as the log line and action say
        return 0.0
    seconds = parse_duration(text, "--settle-time").total_seconds()
    if seconds > MAX_SETTLE:
        raise UserError(f"--settle-time {text!r} is over {MAX_SETTLE // 60} minutes; X-Ray "
                        "indexes a trace within seconds or minutes: use e.g. 30s")
    return seconds


def _from_api(args: argparse.Namespace, notices: Notices, session: Any) -> Iterator[RawTrace]:
    from leastpriv_ci.credentials import default_session
    from leastpriv_ci.traces.xray import (
        DEFAULT_CONCURRENCY,
        XrayQuery,
        fetch_traces,
        make_client,
    )

    window = TraceWindow.from_options(
        getattr(args, "since", None), getattr(args, "start", None), getattr(args, "end", None),
        notices=notices,
    )
    session = session or default_session(os.environ)
    concurrency = getattr(args, "max_concurrency", None) or DEFAULT_CONCURRENCY
    client = make_client(
        session,
        region=getattr(args, "region", None),
        endpoint_url=getattr(args, "endpoint_url", None),
        max_concurrency=concurrency,
    )
    query = XrayQuery(
        window=window,
        filter_expression=getattr(args, "filter_expression", None),
        group=getattr(args, "xray_group", None),
        max_concurrency=concurrency,
        settle=_settle_seconds(getattr(args, "settle_time", None)),
    )

    def identify() -> str:
        sts = session.client("sts", region_name=client.meta.region_name)
        return str(sts.get_caller_identity()["Arn"])

    return fetch_traces(client, query, notices, identify=identify)
