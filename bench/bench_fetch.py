"""Fetch N traces from a local X-Ray stand-in that throttles at R requests/s.

Prints, per run, the request rate achieved against R, the share of requests the
stand-in throttled, the BatchGetTraces calls against ceil(N/5), failed runs, elapsed
time and peak RSS. Deterministic data; stops by itself.

    python bench/bench_fetch.py [--traces N | --seconds S] [--rate R ...] [--burst B ...]
                                [--runs K] [--concurrency C] [--in-process]

The stand-in throttles like X-Ray (HTTP 429 ThrottledException) from a token bucket of R
tokens per second holding up to B (``R``: one second's worth, the default; ``1``: strict
pacing, no two requests closer than 1/R s). It runs in a child process, as X-Ray runs
elsewhere: in this process it would compete with the fetch for the GIL and add its own
delays to the timing it judges (``--in-process`` does that, for comparison).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from leastpriv_ci.errors import UserError  # noqa: E402
from leastpriv_ci.notices import Notices  # noqa: E402
from leastpriv_ci.traces.window import TraceWindow  # noqa: E402
from leastpriv_ci.traces.xray import (  # noqa: E402
    DEFAULT_CONCURRENCY,
    FetchStats,
    XrayQuery,
    fetch_traces,
    make_client,
)
from tests.xray_standin import StandIn, running_standin  # noqa: E402


@dataclass(frozen=True)
class Counts:
    """What the stand-in saw during one run."""

    accepted: int
    throttled: int
    batch_calls: int
    max_ids: int

    @classmethod
    def of(cls, state: StandIn) -> Counts:
        return cls(
            sum(state.calls.values()),
            sum(state.throttled.values()),
            state.calls["BatchGetTraces"],
            max(state.ids_per_call, default=0),
        )


@dataclass(frozen=True)
class Run:
    fetched: int
    elapsed: float
    counts: Counts
    warnings: int


def _serve(conn: Connection, count: int, rate: float, burst: float) -> None:
    with running_standin(StandIn(count=count, rate=rate, burst=burst)) as state:
        conn.send(state.endpoint_url)
        conn.recv()  # the fetch is over
        conn.send(Counts.of(state))


@contextmanager
def standin(
    count: int, rate: float, burst: float, in_process: bool
) -> Iterator[tuple[str, list[Counts]]]:
    """Serve N traces at R/s; yield the URL and a list that holds the counts once done."""
    counts: list[Counts] = []
    if in_process:
        with running_standin(StandIn(count=count, rate=rate, burst=burst)) as state:
            yield state.endpoint_url, counts
        counts.append(Counts.of(state))
        return
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve, args=(theirs, count, rate, burst), daemon=True)
    child.start()
    try:
        yield ours.recv(), counts
        ours.send("stop")
        counts.append(ours.recv())
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.terminate()


def one_run(count: int, rate: float, burst: float, concurrency: int, in_process: bool) -> Run:
    with standin(count, rate, burst, in_process) as (url, counts):
        session = boto3.session.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
        )
        client = make_client(session, endpoint_url=url, max_concurrency=concurrency)
        now = datetime.now(UTC)
        query = XrayQuery(TraceWindow(now - timedelta(hours=1), now), max_concurrency=concurrency)
        stats = FetchStats()
        notices = Notices()
        started = time.perf_counter()
        fetched = sum(1 for _ in fetch_traces(client, query, notices, stats=stats))
        elapsed = time.perf_counter() - started
    return Run(fetched, elapsed, counts[0], len(notices))


def burst_of(text: str) -> str:
    if text != "R" and not (text.replace(".", "", 1).isdigit() and float(text) >= 1):
        raise argparse.ArgumentTypeError(f"burst {text!r} is not R or a number ≥ 1")
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--traces", type=int, default=None, help="N (default 2000)")
    size.add_argument(
        "--seconds", type=float, default=None, help="N = 5·R·S: about S seconds per run"
    )
    parser.add_argument("--rate", type=float, nargs="+", default=[50.0])
    parser.add_argument(
        "--burst",
        type=burst_of,
        nargs="+",
        default=["R"],
        help="requests the stand-in's bucket saves up: R (one second's worth) or a number",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args()
    failed = 0
    for rate in args.rate:
        for burst_text in args.burst:
            burst = rate if burst_text == "R" else float(burst_text)
            failed += bench(args, rate, burst)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"failed runs: {failed} | peak RSS {peak:.0f} MB")
    return 1 if failed else 0


def bench(args: argparse.Namespace, rate: float, burst: float) -> int:
    if args.seconds is not None:
        traces = max(5, round(5 * rate * args.seconds))
    else:
        traces = args.traces if args.traces is not None else 2000
    expected_calls = math.ceil(traces / 5)
    where = "in this process" if args.in_process else "in a child process"
    print(
        f"N={traces} traces, stand-in ({where}) throttles at R={rate:g} req/s, "
        f"burst {burst:g}, concurrency {args.concurrency}, {args.runs} runs"
    )
    failed = 0
    for run in range(1, args.runs + 1):
        try:
            result = one_run(traces, rate, burst, args.concurrency, args.in_process)
        except UserError as error:
            failed += 1
            print(f"  run {run}: FAILED: {error}")
            continue
        counts = result.counts
        ok = result.fetched == traces and counts.batch_calls == expected_calls
        failed += 0 if ok else 1
        achieved = counts.accepted / result.elapsed
        sent = counts.accepted + counts.throttled
        # The bucket starts full, so over T seconds at most R*T + B requests can pass.
        ceiling = rate + burst / result.elapsed
        print(
            f"  run {run}: {achieved:.1f} req/s = {100 * achieved / rate:.0f}% of R"
            f" (ceiling {ceiling:.1f}) | throttled {counts.throttled}/{sent}"
            f" = {100 * counts.throttled / sent:.1f}%"
            f" | BatchGetTraces {counts.batch_calls} vs ceil(N/5)={expected_calls}"
            f" (max {counts.max_ids} IDs/call) | traces {result.fetched}"
            f" | {result.elapsed:.1f} s" + ("" if ok else " | FAILED")
        )
    return failed


if __name__ == "__main__":
    sys.exit(main())
