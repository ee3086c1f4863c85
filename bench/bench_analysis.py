"""Benchmark the analysis: 100k accesses by principals of 50 roles, findings + proposals.

Run from the repository root: ``python bench/bench_analysis.py [RECORDS]``. The data is
generated from a fixed seed: 50 roles of 20 statements (``*``, ``s3:*``,
``dynamodb:Get*``, Deny, conditions, explicit lists), 3 Lambda principals per role,
accesses to tables, indexes, queues, S3 objects (many keys) and ``*`` actions, some
denied, some without a resource name.
"""

from __future__ import annotations

import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from leastpriv_ci.analysis import analyse  # noqa: E402
from leastpriv_ci.analysis.context import traced_context  # noqa: E402
from leastpriv_ci.catalog import get_catalog  # noqa: E402
from leastpriv_ci.policy.model import Policy, Role, Statement  # noqa: E402
from leastpriv_ci.records import Access, Observation, PrincipalUsage  # noqa: E402

SEED = 20261123
ROLES = 50
PRINCIPALS_PER_ROLE = 3
ACCOUNT = "123456789012"
REGION = "us-east-1"
REGIONS = (REGION,)  # every call's, as its subsegment recorded it
TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
                 "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchGetItem"]
OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
QUEUE_ACTIONS = ["sqs:SendMessage", "sqs:ReceiveMessage"]


def table(n: int) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t{n}"


def statements(rng: random.Random, r: int) -> tuple[Statement, ...]:
    out = [
        Statement("Allow", ("dynamodb:Get*", "dynamodb:Query"), (table(r), table(r) + "/index/*")),
        Statement("Allow", ("dynamodb:PutItem", "dynamodb:UpdateItem"), (table(r),)),
        Statement("Allow", ("s3:*",), (f"arn:aws:s3:::bucket-{r}", f"arn:aws:s3:::bucket-{r}/*")),
        Statement("Allow", ("sqs:SendMessage",), (f"arn:aws:sqs:{REGION}:{ACCOUNT}:q{r}",)),
        Statement("Deny", ("s3:DeleteObject",), (f"arn:aws:s3:::bucket-{r}/protected/*",)),
        Statement("Allow", ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
                  ("*",)),
        Statement("Allow", ("xray:PutTraceSegments", "xray:PutTelemetryRecords"), ("*",)),
        Statement("Allow", ("sns:Publish",), (f"arn:aws:sns:{REGION}:{ACCOUNT}:topic-{r}",),
                  conditions={"StringEquals": {"aws:RequestedRegion": (REGION,)}}),
    ]
    if r % 10 == 0:
        out.append(Statement("Allow", ("*",), ("*",)))
    while len(out) < 20:
        n = rng.randrange(ROLES)
        out.append(Statement("Allow", (rng.choice(TABLE_ACTIONS),), (table(n),)))
    return tuple(out)


def accesses_for(rng: random.Random, r: int, principal: str, count: int) -> list[Access]:
    out = []
    for _ in range(count):
        kind = rng.random()
        denied = rng.random() < 0.01
        if kind < 0.4:
            action = rng.choice(TABLE_ACTIONS)
            resource = table(rng.choice([r, r, r, rng.randrange(ROLES)]))
            if action == "dynamodb:Query" and rng.random() < 0.5:
                resource += "/index/by" + rng.choice("ABC")
        elif kind < 0.8:
            action = rng.choice(OBJECT_ACTIONS)
            prefix = rng.choice(["uploads", "exports", "protected"])
            resource = f"arn:aws:s3:::bucket-{r}/{prefix}/{rng.randrange(2000)}/{rng.randrange(9)}"
        elif kind < 0.95:
            action = rng.choice(QUEUE_ACTIONS)
            resource = f"arn:aws:sqs:{REGION}:{ACCOUNT}:q{rng.choice([r, r + 1])}"
        else:
            action, resource = "xray:PutTraceSegments", "*"
        known = rng.random() > 0.01
        out.append(Access(principal, action, resource if known else "*", count=1 + rng.randrange(5),
                          denied=denied, trace_ids=(f"1-{rng.getrandbits(32):08x}",),
                          resource_known=known, regions=REGIONS, region_known=True))
    return out


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(SEED)
    get_catalog()
    roles: dict[str, Role] = {}
    principal_roles: dict[str, str | None] = {}
    principals: dict[str, PrincipalUsage] = {}
    per_principal = total // (ROLES * PRINCIPALS_PER_ROLE)
    for r in range(ROLES):
        key = f"arn:aws:iam::{ACCOUNT}:role/app-{r}"
        roles[key] = Role(key, f"app-{r}", (Policy("inline", statements(rng, r)),))
        for p in range(PRINCIPALS_PER_ROLE):
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:app-{r}-{p}"
            principal_roles[arn] = key
            principals[arn] = PrincipalUsage(arn, key, per_principal,
                                             tuple(accesses_for(rng, r, arn, per_principal)))
    observation = Observation(principals, traces=total)
    records = sum(len(u.accesses) for u in principals.values())
    start = time.perf_counter()
    # as a scan runs it: with the request context traced calls are known to have
    analysis = analyse(observation, roles, principal_roles, context=traced_context())
    elapsed = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kinds: dict[str, int] = {}
    for finding in analysis.findings:
        kinds[finding.kind] = kinds.get(finding.kind, 0) + 1
    print(f"analyse: {records} accesses, {ROLES} roles x 20 statements, "
          f"{len(principals)} principals")
    print(f"  time       {elapsed:.2f} s  ({records / elapsed:,.0f} accesses/s)")
    print(f"  findings   {len(analysis.findings)} {dict(sorted(kinds.items()))}")
    print(f"  proposals  {len(analysis.proposals)} roles + "
          f"{len(analysis.principal_proposals)} principals")
    print(f"  peak RSS   {rss:.0f} MiB")


if __name__ == "__main__":
    main()
