"""Findings → workflow annotations on the statements that cause them, most severe first."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from leastpriv_ci.records import Finding
from leastpriv_ci.report.escape import visible
from leastpriv_ci.report.findings import (
    KIND_TITLES,
    fails_gate,
    ignored_reason,
    ordered,
    severity_rank,
)
from leastpriv_ci.runner import Annotation

# Only what fails the gate is an error (the gate marks it); the rest informs, by severity.
GATE_FAILED_LEVEL = "error"
LEVELS = {"critical": "warning", "high": "warning", "medium": "warning", "low": "notice"}
# Kept out of annotations unless they failed the gate (fail-on names them): GitHub shows
# only a few per step, and otherwise these ask for no change.
QUIET_KINDS = ("unobserved", "platform")


def level_of(finding: Finding) -> str:
    """``error`` for a finding the gate failed on, else ``warning``/``notice`` by severity."""
    if fails_gate(finding):
        return GATE_FAILED_LEVEL
    return LEVELS.get(finding.severity, "notice")


def from_findings(
    findings: Iterable[Finding], *, locate: Callable[[str], str] = str
) -> list[Annotation]:
    """One annotation per finding that is not ignored: what failed the gate first, then
    the most severe.

    Findings with a statement carry its file and line; the others (a missing permission
    no statement mentions) are annotated on the run. Unobserved roles are left out (a
    coverage note), and so are platform permissions (needed, not a problem with a
    statement), unless ``fail-on`` names their kind and they failed the gate: a failed
    run always shows an error for what failed it.
    ``locate`` turns a finding's file into the path GitHub places it by (the path in the
    repository, see :func:`leastpriv_ci.grants.checkout.repository_paths`).
    """
    chosen = [
        f for f in findings
        if ignored_reason(f) is None and (f.kind not in QUIET_KINDS or fails_gate(f))
    ]
    ranked = sorted(
        ordered(chosen),
        key=lambda f: (not fails_gate(f), -severity_rank(f.severity),
                       f.origin is None or not f.origin.file),
    )
    result = []
    for finding in ranked:
        origin = finding.origin
        message = finding.message or f"{finding.kind}: {finding.action} on {finding.resource}"
        if finding.fix:
            message += f"\nFix: {finding.fix}"
        message += f"\nRole: {finding.role}"
        title = (f"{KIND_TITLES.get(finding.kind, finding.kind)} permission: "
                 f"{finding.action_shown}")
        # The runner escapes workflow commands, not bidi overrides: show those as \uXXXX.
        # The file stays as it is, since GitHub places the annotation by it.
        result.append(
            Annotation(
                level=level_of(finding),
                message=visible(message),
                file=locate(origin.file) if origin and origin.file else None,
                line=origin.line if origin else None,
                title=visible(title),
            )
        )
    return result
