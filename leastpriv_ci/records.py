"""The records that flow between pipeline stages (see DESIGN.md, "The records that flow")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from leastpriv_ci.notices import Notices

MAX_SAMPLE_TRACES = 3


@dataclass(frozen=True)
class Access:
    """One principal used one IAM action on one resource (aggregated over calls)."""

    principal: str
    action: str  # "service:Action", spelled as the catalog spells it
    resource: str  # an ARN, or "*" for actions that take no resource / unknown resource
    count: int = 1
    denied: bool = False
    first_seen: float | None = None
    last_seen: float | None = None
    trace_ids: tuple[str, ...] = ()
    resource_known: bool = True
    # The regions the calls' subsegments recorded (their SDK clients'), sorted, and whether
    # every call recorded one: what decides ``aws:RequestedRegion`` for them
    regions: tuple[str, ...] = ()
    region_known: bool = False
    # Denied accesses only: what their errors said refused them, when a policy outside the
    # role's own (usage.denied.refused_by), sorted
    refused_by: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, str, bool]:
        return (self.principal, self.action, self.resource, self.denied)

    def merged(self, other: Access) -> Access:
        """Combine two aggregates of the same (principal, action, resource, denied)."""
        firsts = [t for t in (self.first_seen, other.first_seen) if t is not None]
        lasts = [t for t in (self.last_seen, other.last_seen) if t is not None]
        samples = self.trace_ids + tuple(t for t in other.trace_ids if t not in self.trace_ids)
        return Access(
            principal=self.principal,
            action=self.action,
            resource=self.resource,
            count=self.count + other.count,
            denied=self.denied,
            first_seen=min(firsts) if firsts else None,
            last_seen=max(lasts) if lasts else None,
            trace_ids=samples[:MAX_SAMPLE_TRACES],
            resource_known=self.resource_known and other.resource_known,
            regions=tuple(sorted({*self.regions, *other.regions})),
            region_known=self.region_known and other.region_known,
            refused_by=tuple(sorted({*self.refused_by, *other.refused_by})),
        )

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = {
            "action": self.action,
            "resource": self.resource,
            "count": self.count,
            "denied": self.denied,
            "resource_known": self.resource_known,
            "regions": list(self.regions),
            "region_known": self.region_known,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "trace_ids": list(self.trace_ids),
        }
        if self.refused_by:
            doc["refused_by"] = list(self.refused_by)
        return doc


@dataclass(frozen=True)
class PrincipalUsage:
    """Everything one compute principal was seen doing."""

    principal: str
    role: str | None
    traces: int
    accesses: tuple[Access, ...]
    # What its calls may have needed: calls whose IAM actions depend on their request,
    # which the trace does not record (DynamoDB write transactions, PartiQL), one access
    # per action they may need. Never proof of use, nor of a missing grant.
    possible: tuple[Access, ...] = ()


@dataclass(frozen=True)
class Observation:
    """The result of reading traces: usage per principal, plus what was skipped."""

    principals: Mapping[str, PrincipalUsage]
    notices: Notices = field(default_factory=Notices)
    traces: int = 0
    window: tuple[float, float] | None = None  # earliest/latest segment time seen

    def to_json(self) -> dict[str, object]:
        """The ``observe --format json`` contract (DESIGN.md)."""
        return {
            "schema": 1,
            "principals": {
                arn: {
                    "role": usage.role,
                    "traces": usage.traces,
                    "accesses": [a.to_json() for a in usage.accesses],
                    "possible": [a.to_json() for a in usage.possible],
                }
                for arn, usage in sorted(self.principals.items())
            },
            "warnings": [n.to_json() for n in self.notices.items()],
        }


@dataclass(frozen=True)
class Origin:
    """Where a policy statement was declared: a file and line, or an account object."""

    file: str | None = None
    line: int | None = None
    logical_id: str | None = None  # CloudFormation / Terraform resource address
    policy_arn: str | None = None
    policy_name: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "logical_id": self.logical_id,
            "policy_arn": self.policy_arn,
            "policy_name": self.policy_name,
        }

    def __str__(self) -> str:
        if self.file:
            place = f"{self.file}:{self.line}" if self.line else self.file
        elif self.policy_arn and self.policy_name and not self.logical_id:
            return f"{self.policy_arn} ({self.policy_name})"  # a resource's own policy
        else:
            place = self.policy_arn or self.policy_name or "<unknown>"
        return f"{place} ({self.logical_id})" if self.logical_id else place


SEVERITIES = ("info", "low", "medium", "high", "critical")
FINDING_KINDS = ("excess", "missing", "denied", "platform", "unobserved")


@dataclass(frozen=True)
class Finding:
    """One verdict on one (kind, role, action, resource)."""

    kind: str  # one of FINDING_KINDS
    role: str
    action: str
    resource: str
    severity: str  # one of SEVERITIES
    principals: tuple[str, ...] = ()
    access_level: str | None = None
    origin: Origin | None = None
    message: str = ""
    fix: str = ""
    conditional: bool = False  # decided by a condition the tool could not evaluate
    trace_ids: tuple[str, ...] = ()
    detail: Mapping[str, object] = field(default_factory=dict)
    # Needed one of these at least, not saying which (``action`` is the first): calls whose
    # request decides their actions, which the traces do not record
    one_of: tuple[str, ...] = ()

    @property
    def action_shown(self) -> str:
        """The action as reports name it: ``A or B or C`` for a finding on one of them."""
        return " or ".join(self.one_of) if self.one_of else self.action

    def to_json(self) -> dict[str, object]:
        origin = self.origin.to_json() if self.origin else None
        return {
            "kind": self.kind,
            "role": self.role,
            "principals": list(self.principals),
            "action": self.action,
            "resource": self.resource,
            "access_level": self.access_level,
            "severity": self.severity,
            "origin": origin,
            "message": self.message,
            "fix": self.fix,
            "conditional": self.conditional,
            "trace_ids": list(self.trace_ids),
            **({"one_of": list(self.one_of)} if self.one_of else {}),
            **dict(self.detail),
        }


@dataclass(frozen=True)
class Coverage:
    """What was analysed and what was not: silently empty findings are the failure to avoid."""

    traces: int = 0
    window: tuple[float, float] | None = None  # earliest/latest segment time (epoch seconds)
    principals: tuple[str, ...] = ()  # principals seen in traces
    unobserved: tuple[str, ...] = ()  # roles/principals declared but with no traces: no verdict
    unmapped: tuple[str, ...] = ()  # principals seen whose role could not be found
    unknown_resources: int = 0  # accesses whose trace carried no resource name
    policy_files: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "traces": self.traces,
            "window": list(self.window) if self.window else None,
            "principals": list(self.principals),
            "unobserved": list(self.unobserved),
            "unmapped": list(self.unmapped),
            "unknown_resources": self.unknown_resources,
            "policy_files": list(self.policy_files),
            "roles": list(self.roles),
        }


@dataclass(frozen=True)
class Analysis:
    """Usage against grants: the findings, the proposed policies, and the coverage notes."""

    findings: tuple[Finding, ...]
    proposals: Mapping[str, Mapping[str, object]]  # role -> proposed IAM policy document
    declared: Mapping[str, Mapping[str, object]] = field(default_factory=dict)  # role -> doc
    diffs: Mapping[str, object] = field(default_factory=dict)  # role -> JSON-safe jsondiff
    shared_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # role -> users
    coverage: Coverage = field(default_factory=Coverage)
    notices: Notices = field(default_factory=Notices)
    # principal -> proposed policy, for principals that share a role (what each needs)
    # and principals whose role is unknown
    principal_proposals: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    # role -> what its proposal leaves to the reader (kept Denies, what it cannot tell)
    proposal_notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # principal -> the same, for its own proposal in principal_proposals
    principal_proposal_notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The gate's decision and the reasons for it (printed last)."""

    passed: bool
    reasons: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)  # per finding kind, after ignores
    ignored: tuple[str, ...] = ()  # ignore rules that applied, with their reasons

    @property
    def name(self) -> str:
        return "pass" if self.passed else "fail"


@dataclass(frozen=True)
class Report:
    """Everything a renderer needs: the analysis and the verdict on it."""

    analysis: Analysis
    verdict: Verdict

    def to_json(self) -> dict[str, object]:
        """The ``scan --format json`` contract (DESIGN.md); extra keys are allowed."""
        analysis = self.analysis
        return {
            "schema": 1,
            "verdict": self.verdict.name,
            "reasons": list(self.verdict.reasons),
            "counts": dict(self.verdict.counts),
            "findings": [f.to_json() for f in analysis.findings],
            "proposals": {role: dict(doc) for role, doc in sorted(analysis.proposals.items())},
            "proposal_notes": {r: list(n) for r, n in sorted(analysis.proposal_notes.items())},
            "declared": {role: dict(doc) for role, doc in sorted(analysis.declared.items())},
            "diffs": dict(analysis.diffs),
            "shared_roles": {r: list(p) for r, p in sorted(analysis.shared_roles.items())},
            "principal_proposals": {
                p: dict(doc) for p, doc in sorted(analysis.principal_proposals.items())
            },
            "principal_proposal_notes": {
                p: list(n) for p, n in sorted(analysis.principal_proposal_notes.items())
            },
            "coverage": analysis.coverage.to_json(),
            "warnings": [n.to_json() for n in analysis.notices.items()],
        }
