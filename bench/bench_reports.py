"""Render the PR comment, job summary, SARIF and JSON for generated reports of growing size.

Deterministic data (no randomness): N findings spread over N/50 roles. Prints per size
the time per renderer, output size, throughput in findings/s, and peak RSS.
"""

from __future__ import annotations

import resource
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leastpriv_ci.gate import GateRules, decide
from leastpriv_ci.notices import Notices
from leastpriv_ci.records import Analysis, Coverage, Finding, Origin, Report
from leastpriv_ci.report import json_report, markdown, sarif, summary
from leastpriv_ci.report.annotations import from_findings

KINDS = ("excess", "excess", "excess", "missing", "platform")
SEVERITIES = ("low", "medium", "high", "critical")


def make(n: int) -> Analysis:
    findings = tuple(
        Finding(
            kind=KINDS[i % len(KINDS)],
            role=f"arn:aws:iam::123456789012:role/service-{i % max(1, n // 50)}",
            action=f"s3:Action{i}",
            resource=f"arn:aws:s3:::bucket-{i % 97}/prefix/{i}/|`<x>`@team",
            severity=SEVERITIES[i % len(SEVERITIES)],
            principals=(f"arn:aws:lambda:us-east-1:123456789012:function:f{i % 40}",),
            access_level="Write",
            origin=Origin(file=f"infra/stack-{i % 13}.yaml", line=10 + i % 500),
            message=f"`s3:Action{i}` is granted and was never used",
        )
        for i in range(n)
    )
    return Analysis(findings=findings, proposals={}, coverage=Coverage(traces=n),
                    notices=Notices())


def timed(label: str, n: int, fn) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - start
    size = f"{len(out.encode()):>10} bytes" if isinstance(out, str) else f"{len(out):>10} items"
    print(f"  {label:<12} {elapsed * 1000:8.1f} ms  {size}  "
          f"{n / elapsed:>10.0f} findings/s")


def main() -> None:
    for n in (1_000, 5_000, 20_000):
        start = time.perf_counter()
        verdict, analysis = decide(make(n), GateRules(), today=date(2026, 1, 1))
        report = Report(analysis, verdict)
        print(f"{n} findings (gate {1000 * (time.perf_counter() - start):.1f} ms)")
        timed("comment", n, lambda r=report: markdown.render(r))
        timed("summary", n, lambda r=report: summary.render(r))
        timed("sarif", n, lambda r=report: sarif.dumps(r))
        timed("json", n, lambda r=report: json_report.dumps(r))
        timed("annotations", n, lambda r=report: from_findings(r.analysis.findings))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
