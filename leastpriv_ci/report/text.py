"""Terminal output for ``scan --format text``."""

from __future__ import annotations

from leastpriv_ci.records import Report
from leastpriv_ci.report.escape import console
from leastpriv_ci.report.findings import (
    KIND_ORDER,
    KIND_TITLES,
    by_role,
    ignored_reason,
    qualifier,
)


def _clean(value: str) -> str:
    return console(value, 500)


def render(report: Report) -> str:
    """A plain-text report: counts, findings per role, coverage. Reasons are printed last
    by the caller."""
    analysis = report.analysis
    counts = report.verdict.counts
    lines = [
        f"leastpriv-ci: {report.verdict.name.upper()}  "
        + ", ".join(f"{counts.get(k, 0)} {KIND_TITLES[k].lower()}" for k in KIND_ORDER)
    ]
    for role, found in by_role(analysis.findings).items():
        lines += ["", f"role {_clean(role)}"]
        for f in found:
            where = f" [{_clean(str(f.origin))}]" if f.origin else ""
            ignored = ignored_reason(f)
            note = f" (ignored: {_clean(ignored)})" if ignored else ""
            # an unobserved finding is about the role as a whole, not a grant of * on *
            what = (_clean(f.message or "no traces: no verdict") if f.kind == "unobserved"
                    else f"{_clean(f.action_shown)} on {_clean(f.resource)}")
            lines.append(f"  {f.kind:<10} {f.severity:<8} {what}{qualifier(f)}{where}{note}")
    coverage = analysis.coverage
    lines += [
        "",
        f"coverage: {coverage.traces} trace(s), {len(coverage.principals)} principal(s), "
        f"{len(coverage.roles)} role(s), {len(coverage.policy_files)} policy file(s)",
    ]
    if coverage.unmapped:
        lines.append("  no known role: " + ", ".join(map(_clean, coverage.unmapped)))
    if coverage.unobserved:
        lines.append("  no traces (no verdict): " + ", ".join(map(_clean, coverage.unobserved)))
    lines += [f"warning: {_clean(str(n))}" for n in analysis.notices.items()]
    lines += [f"note: proposal for {_clean(key)}: {_clean(note)}"
              for found in (analysis.proposal_notes, analysis.principal_proposal_notes)
              for key, notes in sorted(found.items()) for note in notes]
    return "\n".join(lines) + "\n"
