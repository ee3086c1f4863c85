"""Fetch N traces from a local X-Ray stand-in that throttles at R requests/s.

Prints the request rate achieved against R, the BatchGetTraces calls against
ceil(N/5), failed runs, elapsed time and peak RSS. Deterministic data; stops by itself.

    python bench/bench_fetch.py [--traces N] [--rate R] [--runs K] [--concurrency C] [--burst B]

The stand-in throttles like X-Ray (HTTP 429 ThrottledException) from a token bucket of R
tokens per second holding up to B (default R); the fetch relies on botocore's adaptive
retry mode alone.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from leastpriv_ci.errors import UserError  # noqa: E402
from leastpriv_ci.notices import Notices  # noqa: E402
from leastpriv_ci.traces.window import TraceWindow  # noqa: E402
from leastpriv_ci.traces.xray import FetchStats, XrayQuery, fetch_traces, make_client  # noqa: E402
from tests.xray_standin import StandIn, running_standin  # noqa: E402


def one_run(count: int, rate: float, concurrency: int, burst: float) -> dict[str, float]:
    with running_standin(StandIn(count=count, rate=rate, burst=burst)) as state:
        session = boto3.session.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
        )
        client = make_client(session, endpoint_url=state.endpoint_url, max_concurrency=concurrency)
        now = datetime.now(UTC)
        query = XrayQuery(TraceWindow(now - timedelta(hours=1), now), max_concurrency=concurrency)
        stats = FetchStats()
        notices = Notices()
        started = time.perf_counter()
        fetched = sum(1 for _ in fetch_traces(client, query, notices, stats=stats))
        elapsed = time.perf_counter() - started
    accepted = sum(state.calls.values())
    return {
        "fetched": fetched,
        "elapsed": elapsed,
        "accepted": accepted,
        "throttled": sum(state.throttled.values()),
        "achieved": accepted / elapsed,
        "batch_calls": state.calls["BatchGetTraces"],
        "max_ids": max(state.ids_per_call),
        "warnings": len(notices),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--burst",
        type=float,
        default=None,
        help="requests the stand-in's token bucket saves up (default: R, one second's worth)",
    )
    args = parser.parse_args()
    expected_calls = math.ceil(args.traces / 5)
    burst = args.burst if args.burst is not None else max(1.0, args.rate)
    failed = 0
    print(
        f"N={args.traces} traces, stand-in throttles at R={args.rate:g} req/s, "
        f"burst {burst:g}, concurrency {args.concurrency}, {args.runs} runs"
    )
    for run in range(1, args.runs + 1):
        try:
            result = one_run(args.traces, args.rate, args.concurrency, burst)
        except UserError as error:
            failed += 1
            print(f"run {run}: FAILED: {error}")
            continue
        ok = result["fetched"] == args.traces and result["batch_calls"] == expected_calls
        failed += 0 if ok else 1
        share = 100 * result["achieved"] / args.rate
        # The bucket starts full, so over T seconds at most R*T + B requests can pass.
        ceiling = args.rate + burst / result["elapsed"]
        print(
            f"run {run}: {result['achieved']:.1f} req/s = {share:.0f}% of R"
            f" (ceiling with the burst {ceiling:.1f})"
            f" | BatchGetTraces calls {result['batch_calls']:.0f}"
            f" vs ceil(N/5)={expected_calls} (max {result['max_ids']:.0f} IDs/call)"
            f" | throttled {result['throttled']:.0f} | traces {result['fetched']:.0f}"
            f" | {result['elapsed']:.2f} s" + ("" if ok else " | FAILED")
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"failed runs: {failed} | peak RSS {peak:.0f} MB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
