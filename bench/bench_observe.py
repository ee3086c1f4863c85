"""Throughput and peak memory of ``observe`` next to the decode floor.

    python bench/bench_observe.py [--sizes 10000 50000 200000] [--dir /tmp/leastpriv-bench]

For each size, a deterministic trace file is generated (bench/generate_traces.py), then
fresh subprocesses read it: the *decode floor* (stream the outer document with ijson's
C backend, decode every inner Document with orjson, nothing else), ``observe`` over that
same stream (the usage stage's own cost), and the CLI path (the trace-file reader of
``leastpriv_ci.traces.files`` feeding ``observe``). Each prints its wall time, CPU time
and peak RSS (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.generate_traces import generate  # noqa: E402


def _stream(path: Path) -> Iterator[tuple[str | None, list[str]]]:
    import ijson

    with path.open("rb") as handle:
        for trace in ijson.items(handle, "Traces.item", use_float=True):
            yield trace.get("Id"), [s["Document"] for s in trace["Segments"]]


def _floor(path: Path) -> int:
    import orjson

    count = 0
    for _trace_id, documents in _stream(path):
        for document in documents:
            orjson.loads(document)
        count += 1
    return count


def _observe(path: Path) -> int:
    from leastpriv_ci.traces import RawTrace
    from leastpriv_ci.usage import observe

    traces = (RawTrace(tid, tuple(docs), f"{path.name}#{n}")
              for n, (tid, docs) in enumerate(_stream(path), 1))
    observation = observe(traces)
    accesses = sum(len(p.accesses) for p in observation.principals.values())
    print(f"  ({len(observation.principals)} principals, {accesses} accesses)", file=sys.stderr)
    return observation.traces


def _cli_path(path: Path) -> int:
    from leastpriv_ci.notices import Notices
    from leastpriv_ci.traces.files import iter_files
    from leastpriv_ci.usage import observe

    notices = Notices()
    return observe(iter_files([path], notices), notices=notices).traces


def _child(kind: str, path: Path) -> None:
    if kind in ("observe", "cli"):  # load the catalog before timing: it is a one-off start-up cost
        from leastpriv_ci.notices import Notices
        from leastpriv_ci.usage.observe import _Reader

        _Reader({}, Notices())
    start, start_cpu = time.perf_counter(), time.process_time()
    count = {"floor": _floor, "observe": _observe, "cli": _cli_path}[kind](path)
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"traces": count, "seconds": seconds, "cpu": cpu, "peak_mb": peak_kb / 1024}))


def _run(kind: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path)],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/leastpriv-bench"))
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], Path(args.child[1]))
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    # CPU seconds are printed too: on a shared machine they vary less than wall time.
    print(f"{'traces':>8} {'MB':>5} {'floor s':>8} {'floor/s':>8} {'observe s':>9} "
          f"{'observe/s':>9} {'ratio':>6} {'cpu ratio':>9} {'floor RSS':>9} {'observe RSS':>11} "
          f"{'CLI path s':>10} {'CLI RSS':>8}")
    for size in args.sizes:
        path = args.dir / f"traces-{size}.json"
        if not path.exists():
            generate(path, size)
        floor = _run("floor", path)
        observed = _run("observe", path)
        cli = _run("cli", path)
        print(f"{size:>8} {path.stat().st_size / 1e6:>5.0f} {floor['seconds']:>8.2f} "
              f"{size / floor['seconds']:>8.0f} {observed['seconds']:>9.2f} "
              f"{size / observed['seconds']:>9.0f} "
              f"{observed['seconds'] / floor['seconds']:>6.2f} "
              f"{observed['cpu'] / floor['cpu']:>9.2f} "
              f"{floor['peak_mb']:>7.0f}MB {observed['peak_mb']:>9.0f}MB "
              f"{cli['seconds']:>10.2f} {cli['peak_mb']:>6.0f}MB", flush=True)


if __name__ == "__main__":
    main()
