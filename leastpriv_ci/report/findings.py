"""Grouping and ordering of findings shared by the renderers."""

from __future__ import annotations

from collections.abc import Iterable

from leastpriv_ci.analysis.missing import by_resource_policy
from leastpriv_ci.records import SEVERITIES, Finding

# Kinds in the order a reader needs them: what breaks the app first, then what is too wide.
KIND_ORDER = ("missing", "denied", "excess", "platform", "unobserved")
GATED_KINDS = ("missing", "denied", "excess")
KIND_TITLES = {
    "missing": "Missing",
    "denied": "Denied",
    "excess": "Excess",
    "platform": "Platform-required",
    "unobserved": "Unobserved",
}


def severity_rank(severity: str) -> int:
    """Higher is more severe; unknown severities rank lowest."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def ignored_reason(finding: Finding) -> str | None:
    """The reason of the ignore rule the gate applied to ``finding``, if any."""
    reason = finding.detail.get("ignored")
    return reason if isinstance(reason, str) else None


def in_baseline(finding: Finding) -> bool:
    """Whether the gate found ``finding`` in the baseline report (so it is not new)."""
    return finding.detail.get("baseline") is True


def fails_gate(finding: Finding) -> bool:
    """Whether the gate counted ``finding`` past a threshold (it is why the gate failed)."""
    return finding.detail.get("fails_gate") is True


def qualifier(finding: Finding) -> str:
    """What a severity is shown with when the finding is no proof: `` (resource policy)``
    for a use a resource-based policy allows, `` (conditional)`` for one that rests on a
    condition the traces cannot decide ("may be missing"), else nothing."""
    if not finding.conditional:
        return ""
    return " (resource policy)" if by_resource_policy(finding) else " (conditional)"


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Kind order first, then most severe, then action and resource for a stable order."""
    return sorted(
        findings,
        key=lambda f: (
            KIND_ORDER.index(f.kind) if f.kind in KIND_ORDER else len(KIND_ORDER),
            -severity_rank(f.severity),
            f.action.lower(),
            f.resource,
        ),
    )


def by_role(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """Findings grouped by role (roles sorted), each group in :func:`ordered` order."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.role, []).append(finding)
    return {role: ordered(groups[role]) for role in sorted(groups)}


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    """How many findings of each kind are not ignored."""
    result = dict.fromkeys(KIND_ORDER, 0)
    for finding in findings:
        if ignored_reason(finding) is None:
            result[finding.kind] = result.get(finding.kind, 0) + 1
    return result
