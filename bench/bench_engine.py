"""Benchmark the IAM engine: catalog load, wildcard expansion, bulk evaluation.

Run from the repository root: ``python bench/bench_engine.py``. Data is generated from a
fixed seed, so runs are comparable. Targets (issue 3): catalog load < 300 ms in a fresh
process, ``*`` expansion < 50 ms, 100k usage records against 50 roles x 20 statements
< 2 s on one core.
"""

from __future__ import annotations

import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from leastpriv_ci.catalog import get_catalog  # noqa: E402
from leastpriv_ci.policy.evaluate import Decision, PolicyIndex  # noqa: E402
from leastpriv_ci.policy.model import Statement  # noqa: E402

SEED = 20261123
ROLES = 50
STATEMENTS_PER_ROLE = 20
RECORDS = 100_000
ACCOUNT = "123456789012"
REGIONS = ["us-east-1", "eu-west-1"]

LOAD_SNIPPET = """
import time
start, start_cpu = time.perf_counter(), time.process_time()
from leastpriv_ci.catalog import get_catalog
imported = time.perf_counter()
catalog = get_catalog()
done, done_cpu = time.perf_counter(), time.process_time()
print(imported - start, done - imported, len(catalog), done_cpu - start_cpu)
"""


def bench_catalog_load(runs: int = 5) -> None:
    imports, loads, walls, cpus = [], [], [], []
    for _ in range(runs):
        began = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", LOAD_SNIPPET], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.split()
        walls.append(time.perf_counter() - began)
        imports.append(float(out[0]))
        loads.append(float(out[1]))
        cpus.append(float(out[3]))
    print(f"catalog load (fresh process, median of {runs}): get_catalog() "
          f"{statistics.median(loads) * 1000:.0f} ms, import "
          f"{statistics.median(imports) * 1000:.0f} ms, whole process "
          f"{statistics.median(walls) * 1000:.0f} ms; import + load CPU "
          f"{statistics.median(cpus) * 1000:.0f} ms; {out[2]} actions")


def bench_expansion(runs: int = 20) -> None:
    catalog = get_catalog()
    for pattern in ("*", "s3:*", "dynamodb:Get*", "*:Get*", "ec2:Describe*"):
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            found = catalog.expand(pattern)
            times.append(time.perf_counter() - began)
        print(f"expand {pattern!r:18} -> {len(found):6} actions in "
              f"{statistics.median(times) * 1000:7.2f} ms (median of {runs})")


def _resources(rng: random.Random) -> dict[str, list[str]]:
    tables = [f"table{i}" for i in range(40)]
    buckets = [f"bucket-{i}" for i in range(20)]
    return {
        "dynamodb": [f"arn:aws:dynamodb:{rng.choice(REGIONS)}:{ACCOUNT}:table/{t}"
                     + (f"/index/by{rng.randrange(3)}" if rng.random() < 0.2 else "")
                     for t in tables for _ in range(3)],
        "s3": [f"arn:aws:s3:::{b}/uploads/{rng.randrange(10_000)}/file-{rng.randrange(100)}.json"
               for b in buckets for _ in range(200)] + [f"arn:aws:s3:::{b}" for b in buckets],
        "sqs": [f"arn:aws:sqs:{rng.choice(REGIONS)}:{ACCOUNT}:queue-{i}" for i in range(30)],
        "lambda": [f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn-{i}" for i in range(30)],
        "logs": [f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/fn-{i}:log-stream:s"
                 for i in range(30)],
        "kms": [f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{i:08x}-0000-0000-0000-000000000000"
                for i in range(10)],
    }


def _role(rng: random.Random, actions: dict[str, list[str]]) -> list[Statement]:
    statements = []
    for position in range(STATEMENTS_PER_ROLE):
        kind = rng.random()
        service = rng.choice(list(actions))
        if position == 0 and rng.random() < 0.1:
            acts, res = ("*",), ("*",)
        elif kind < 0.15:
            acts, res = ("s3:*",), (f"arn:aws:s3:::bucket-{rng.randrange(20)}/*",
                                    f"arn:aws:s3:::bucket-{rng.randrange(20)}")
        elif kind < 0.3:
            acts, res = ("dynamodb:Get*", "dynamodb:Query"), (
                f"arn:aws:dynamodb:us-east-1:*:table/table{rng.randrange(40)}*",)
        elif kind < 0.4:
            acts, res = ("dynamodb:*",), ("arn:aws:dynamodb:us-east-1:*:*",)
        else:
            acts = tuple(rng.sample(actions[service], k=min(4, len(actions[service]))))
            res = (f"arn:aws:{service}:*:{ACCOUNT}:*",) if service != "s3" else (
                "arn:aws:s3:::*/*",)
        effect = "Deny" if rng.random() < 0.05 else "Allow"
        conditions = ({"Bool": {"aws:SecureTransport": ("false",)}}
                      if effect == "Deny" and rng.random() < 0.5 else {})
        statements.append(Statement(effect, acts, res, conditions=conditions))
    return statements


def bench_evaluation() -> None:
    rng = random.Random(SEED)
    catalog = get_catalog()
    resources = _resources(rng)
    actions = {s: [a.full_name for a in catalog.service_actions(s)] for s in resources}
    roles = [_role(rng, actions) for _ in range(ROLES)]
    records = []
    for _ in range(RECORDS):
        service = rng.choice(list(resources))
        records.append((rng.randrange(ROLES), rng.choice(actions[service]),
                        rng.choice(resources[service])))
    unique = len({(r, a, res) for r, a, res in records})

    for memoize in (False, True):
        began, began_cpu = time.perf_counter(), time.process_time()
        indexes = [PolicyIndex(statements, memoize=memoize) for statements in roles]
        built = time.process_time() - began_cpu
        counts = dict.fromkeys(Decision, 0)
        for role, action, arn in records:
            counts[indexes[role].evaluate(action, arn).decision] += 1
        wall, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        print(f"evaluate {RECORDS} records ({unique} distinct) against {ROLES} roles x "
              f"{STATEMENTS_PER_ROLE} statements, memoize={memoize}: {cpu:.2f} s CPU "
              f"({wall:.2f} s wall; index build {1000 * built:.0f} ms) = "
              f"{RECORDS / cpu:,.0f} records/s")
    print("  decisions: " + ", ".join(f"{d.value} {n}" for d, n in counts.items()))

    # Every record against every role (5M requests), as a scan over all roles would do.
    began_cpu = time.process_time()
    indexes = [PolicyIndex(statements) for statements in roles]
    allowed = sum(index.allows(action, arn) for _, action, arn in records[:20_000]
                  for index in indexes)
    cpu = time.process_time() - began_cpu
    print(f"  20000 records x {ROLES} roles = {20_000 * ROLES:,} requests: {cpu:.2f} s CPU "
          f"= {20_000 * ROLES / cpu:,.0f} requests/s ({allowed} allowed)")


def main() -> int:
    bench_catalog_load()
    bench_expansion()
    bench_evaluation()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS: {rss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
