"""Hand-built usage records and fixture roles for the analysis tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from leastpriv_ci.policy.files import load_policy_file
from leastpriv_ci.policy.model import Role
from leastpriv_ci.records import Access, Finding, Observation, PrincipalUsage

DATA = Path(__file__).parent / "data" / "analysis"
ACCOUNT = "123456789012"
REGION = "us-east-1"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def load_role(file: str, key: str | None = None) -> Role:
    """A role from a fixture file (``RoleName`` + ``Policies`` [+ boundary])."""
    loaded = load_policy_file(DATA / file)
    name = key or file.removesuffix(".json")
    return Role(key=name, name=name, policies=loaded.policies, boundary=loaded.boundary)


def use(function: str, action: str, resource: str, *, denied: bool = False,
        known: bool = True, trace: str | None = None, count: int = 1) -> Access:
    """One access by a Lambda function, with a trace ID derived from its content."""
    trace_id = trace or f"1-5f000000-{abs(hash((function, action, resource))) % 10**12:012d}"
    return Access(
        principal=function_arn(function), action=action, resource=resource, count=count,
        denied=denied, trace_ids=(trace_id,), resource_known=known,
    )


def observation(accesses: Iterable[Access], *, extra_principals: Iterable[str] = ()
                ) -> Observation:
    """Usage grouped per principal, as the usage stage produces it."""
    grouped: dict[str, list[Access]] = {p: [] for p in extra_principals}
    for access in accesses:
        grouped.setdefault(access.principal, []).append(access)
    principals = {
        p: PrincipalUsage(principal=p, role=None, traces=max(1, len(a)), accesses=tuple(a))
        for p, a in grouped.items()
    }
    return Observation(principals=principals, traces=sum(u.traces for u in principals.values()))


def summary(findings: Iterable[Finding], *kinds: str) -> set[tuple[str, str, str, str, bool]]:
    """(kind, action, resource, severity, conditional) of each finding of ``kinds``."""
    return {
        (f.kind, f.action, f.resource, f.severity, f.conditional)
        for f in findings if not kinds or f.kind in kinds
    }


def one(findings: Iterable[Finding], kind: str, action: str, resource: str) -> Finding:
    found = [f for f in findings if (f.kind, f.action, f.resource) == (kind, action, resource)]
    assert len(found) == 1, f"expected one {kind} {action} {resource}, got {len(found)}"
    return found[0]
