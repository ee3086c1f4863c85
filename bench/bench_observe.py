"""Throughput and peak memory of ``observe`` next to the decode floor.

    python bench/bench_observe.py [--sizes 10000 50000 200000] [--repeat 3]
        [--dir /tmp/leastpriv-bench]

For each size, a deterministic trace file is generated (bench/generate_traces.py), then
fresh subprocesses read it: the *decode floor* (stream the outer document with ijson's
C backend, decode every inner Document with orjson, nothing else), ``observe`` over that
same stream (the usage stage's own cost), and the CLI path (the trace-file reader of
``leastpriv_ci.traces.files``, which decodes the Traces array in blocks with msgspec,
feeding ``observe``). Each prints its wall time, CPU time (the best of ``--repeat``
runs), traces per second, its time over the floor's (wall/CPU) and peak RSS
(ru_maxrss); then, since a shared machine's speed drifts, the median and range of each
round's CPU time over the same round's floor. The *reader floor* (that reader, then
orjson on every Document) is run too: the CLI path over it is what interpreting costs
on top of the fastest decoding this project has.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
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

    items = ijson.get_backend("yajl2_c").items  # the C backend, or fail: no slower floor
    with path.open("rb") as handle:
        for trace in items(handle, "Traces.item", use_float=True):
            yield trace.get("Id"), [s["Document"] for s in trace["Segments"]]


def _floor(path: Path) -> int:
    import orjson

    count = 0
    for _trace_id, documents in _stream(path):
        for document in documents:
            orjson.loads(document)
        count += 1
    return count


def _reader_floor(path: Path) -> int:
    """The floor with the CLI's own file reader (Traces decoded in blocks by msgspec) in
    place of ijson: what decoding alone costs the CLI path."""
    import orjson

    from leastpriv_ci.notices import Notices
    from leastpriv_ci.traces.files import iter_files

    count = 0
    for trace in iter_files([path], Notices()):
        for document in trace.segments:
            orjson.loads(document)  # type: ignore[arg-type]
        count += 1
    return count


def _observe(path: Path) -> int:
    from leastpriv_ci.traces import RawTrace
    from leastpriv_ci.usage import observe

    name = path.name
    traces = (RawTrace(tid, tuple(docs), f"{name}#{n}")
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
    # Start-up is not timed, for every kind alike: the parsers' imports (ijson's C backend
    # takes about 10 ms), the reader's, and the IAM catalog
    import ijson
    import orjson  # noqa: F401

    import leastpriv_ci.traces.files  # noqa: F401

    ijson.get_backend("yajl2_c")
    if kind in ("observe", "cli"):
        from leastpriv_ci.notices import Notices
        from leastpriv_ci.usage.observe import _Reader

        _Reader({}, Notices())
    start, start_cpu = time.perf_counter(), time.process_time()
    count = {"floor": _floor, "reader-floor": _reader_floor, "observe": _observe,
             "cli": _cli_path}[kind](path)
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"traces": count, "seconds": seconds, "cpu": cpu, "peak_mb": peak_kb / 1024}))


def _run(kind: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path)],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


KINDS = ("floor", "reader-floor", "observe", "cli")


def _best(path: Path, repeat: int) -> tuple[dict[str, dict[str, float]], dict[str, list[float]]]:
    """Each kind ``repeat`` times, interleaved (so load from other processes hits all
    kinds alike); the fastest wall and CPU times and the highest peak RSS of each, and
    each round's CPU time over that round's floor (a round's runs follow one another, so
    a slow spell of the machine weighs on both sides of its ratio)."""
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    for _ in range(repeat):
        for kind in KINDS:
            runs[kind].append(_run(kind, path))
    best = {kind: {"seconds": min(r["seconds"] for r in found),
                   "cpu": min(r["cpu"] for r in found),
                   "peak_mb": max(r["peak_mb"] for r in found)}
            for kind, found in runs.items()}
    paired = {kind: sorted(r["cpu"] / f["cpu"] for r, f in zip(runs[kind], runs["floor"],
                                                                   strict=True))
              for kind in KINDS if kind != "floor"}
    paired["cli over reader-floor"] = sorted(
        r["cpu"] / f["cpu"] for r, f in zip(runs["cli"], runs["reader-floor"], strict=True))
    return best, paired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/leastpriv-bench"))
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per measurement; the fastest is reported (default 3)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], Path(args.child[1]))
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    # Wall and CPU seconds, each the best of --repeat runs: on a shared machine CPU time
    # varies less. "x floor" is the time over the floor's (wall / CPU).
    print(f"{'traces':>7} {'MB':>4} | {'floor s':>7} {'cpu s':>6} {'/s':>6} {'RSS':>5} | "
          f"{'observe s':>9} {'cpu s':>6} {'/s':>6} {'x floor':>9} {'RSS':>5} | "
          f"{'CLI s':>6} {'cpu s':>6} {'/s':>6} {'x floor':>9} {'RSS':>5}")
    for size in args.sizes:
        path = args.dir / f"traces-{size}.json"
        if not path.exists():
            generate(path, size)
        best, paired = _best(path, args.repeat)
        floor = best["floor"]
        row = [f"{size:>7} {path.stat().st_size / 1e6:>4.0f} | {floor['seconds']:>7.2f} "
               f"{floor['cpu']:>6.2f} {size / floor['seconds']:>6.0f} {floor['peak_mb']:>3.0f}MB"]
        for kind, width in (("observe", 9), ("cli", 6)):
            found = best[kind]
            ratio = (f"{found['seconds'] / floor['seconds']:.2f}/"
                     f"{found['cpu'] / floor['cpu']:.2f}")
            row.append(f"{found['seconds']:>{width}.2f} {found['cpu']:>6.2f} "
                       f"{size / found['seconds']:>6.0f} {ratio:>9} {found['peak_mb']:>3.0f}MB")
        print(" | ".join(row), flush=True)
        print(f"{'':>7} paired CPU x floor, median (range) of {args.repeat} rounds: " + ", ".join(
            f"{kind} {statistics.median(r):.2f} ({r[0]:.2f}-{r[-1]:.2f})"
            for kind, r in paired.items()), flush=True)


if __name__ == "__main__":
    main()
