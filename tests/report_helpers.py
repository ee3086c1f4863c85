"""Hand-built reports for renderer, gate and annotation tests."""

from __future__ import annotations

from dataclasses import replace

from leastpriv_ci.notices import Notices
from leastpriv_ci.records import Analysis, Coverage, Finding, Origin, Report, Verdict

ROLE = "arn:aws:iam::123456789012:role/app-OrdersRole"
OTHER_ROLE = "arn:aws:iam::123456789012:role/app-ReportsRole"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:orders"


def finding(
    kind: str = "excess",
    action: str = "s3:DeleteObject",
    resource: str = "arn:aws:s3:::orders-bucket/*",
    *,
    role: str = ROLE,
    severity: str = "medium",
    file: str | None = "template.yaml",
    line: int | None = 42,
    access_level: str | None = "Write",
) -> Finding:
    return Finding(
        kind=kind,
        role=role,
        action=action,
        resource=resource,
        severity=severity,
        principals=(FUNCTION,),
        access_level=access_level,
        origin=Origin(file=file, line=line, logical_id="OrdersRole") if file else None,
        message=f"`{action}` on `{resource}` is {kind}",
        fix=f"remove `{action}`",
        trace_ids=("1-5f84c7a5-9c3e1b1f2a7d4e6f8a0b1c2d",),
    )


def failing(f: Finding) -> Finding:
    """``f`` as the gate marks a finding it failed on."""
    return replace(f, detail={**f.detail, "fails_gate": True})


def analysis(*findings: Finding, proposals: dict[str, object] | None = None) -> Analysis:
    return Analysis(
        findings=tuple(findings),
        proposals=proposals if proposals is not None else {
            ROLE: {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject",
                 "Resource": "arn:aws:s3:::orders-bucket/*"}]}},
        declared={ROLE: {"Version": "2012-10-17", "Statement": []}},
        diffs={ROLE: {"Statement": {"$insert": [[0, {"Action": "s3:GetObject"}]]}}},
        coverage=Coverage(
            traces=7,
            window=(1700000000.0, 1700000600.0),
            principals=(FUNCTION,),
            unmapped=("arn:aws:ecs:us-east-1:123456789012:task/web",),
            unknown_resources=2,
            policy_files=("template.yaml",),
            roles=(ROLE,),
        ),
        notices=Notices(),
    )


def report(*findings: Finding, passed: bool = False, reasons: tuple[str, ...] = ()) -> Report:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.kind] = counts.get(f.kind, 0) + 1
    return Report(
        analysis=analysis(*findings),
        verdict=Verdict(passed=passed, reasons=reasons or ("The gate failed.",), counts=counts),
    )
