"""The pull-request comment: verdict and counts first, then per-role tables, then details.

GitHub refuses comment bodies over 65,536 characters, so the body is rendered at
decreasing levels of detail until it fits, and as a last resort cut at a line with a
pointer to the job summary and the report file, which hold everything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from leastpriv_ci.codemarks import mark
from leastpriv_ci.records import Finding, Report, Verdict
from leastpriv_ci.report import escape
from leastpriv_ci.report.findings import (
    GATED_KINDS,
    KIND_ORDER,
    KIND_TITLES,
    by_role,
    counts,
    fails_gate,
    ignored_reason,
    in_baseline,
    qualifier,
)
from leastpriv_ci.times import shown

LinkFn = Callable[[str, int | None], str | None]
# A file and line as the report shows them: its name, linked when a URL is known
PlaceFn = Callable[[str, int | None], str]

# Leave room for the hidden marker the comment poster prepends.
COMMENT_LIMIT = 65_536 - 1_024
POINTER = "the job summary and the JSON report file (report artifact)"
MAX_NOTE = 600  # characters of one proposal note


@dataclass(frozen=True)
class Detail:
    """How much to show: table rows per role, listed roles, and the collapsed extras."""

    rows: int
    roles: int
    proposals: bool
    side_rows: int


COMMENT_LEVELS = (
    Detail(rows=40, roles=30, proposals=True, side_rows=30),
    Detail(rows=20, roles=20, proposals=True, side_rows=15),
    Detail(rows=10, roles=15, proposals=False, side_rows=10),
    Detail(rows=5, roles=10, proposals=False, side_rows=5),
    Detail(rows=0, roles=0, proposals=False, side_rows=0),
)


def size(body: str) -> int:
    """The body's size in UTF-8 bytes: never less than GitHub's character count."""
    return len(body.encode("utf-8"))


def render(
    report: Report,
    *,
    link: LinkFn | None = None,
    locate: Callable[[str], str] | None = None,
    limit: int = COMMENT_LIMIT,
    levels: Sequence[Detail] = COMMENT_LEVELS,
    pointer: str = POINTER,
    key: str = "",
    changes: Mapping[str, object] | None = None,
    gate: Mapping[str, object] | None = None,
) -> str:
    """The Markdown body for ``report``, at most ``limit`` UTF-8 bytes.

    ``link(path, line)`` gives the URL of a statement at the head commit (or ``None``);
    ``key`` the job's comment key (its matrix values), shown in the title;
    ``locate(path)`` the name a file is shown by (its path in the repository, which
    differs from the workspace's in a checkout under a sub-folder);
    ``changes`` are the roles the pull request changes (``grants.changes.role_changes``),
    ``gate`` its changes to the settings that gate it (``GateReview.to_json``).
    """
    body = ""
    place = _placer(link, locate)
    # A removed statement's line is the base commit's: a link to the head would show
    # another line, or a file the pull request deleted
    place_removed = _placer(None, locate)
    title = _title(key)
    for level in levels:
        body = _document(report, place, level, pointer, title, changes or {}, place_removed,
                         gate or {})
        if size(body) <= limit:
            return body
    return truncate(body, limit, pointer)


def truncate(body: str, limit: int, pointer: str = POINTER) -> str:
    """Cut ``body`` at a line boundary so it and a closing pointer fit in ``limit`` bytes."""
    note = f"\n\n_…truncated to fit; the full report is in {pointer}._\n"
    room = max(0, limit - size(note))
    cut = body.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    if "\n" in cut:
        cut = cut[: cut.rfind("\n")]
    while cut and size(cut + _closers(cut) + note) > limit:
        cut = cut[: max(0, cut.rfind("\n"))]
    return cut + _closers(cut) + note


_DETAILS_OPEN = re.compile(r"<details[ >]")


def _closers(cut: str) -> str:
    """What closes the fence and ``<details>`` left open by a cut (they would swallow the note)."""
    fence: str | None = None
    depth = 0
    for line in cut.split("\n"):
        if fence is not None:
            if line == fence:
                fence = None
            continue
        opening = re.match(r"`{3,}", line)
        if opening:
            fence = opening.group()
            continue
        # Only the renderer's own tag lines count: a name in a code span may read
        # "</details>" (code spans are not HTML-escaped, and need not be).
        if _DETAILS_OPEN.match(line):
            depth += 1
        elif line == "</details>":
            depth -= 1
    return ("\n" + fence if fence else "") + "\n</details>" * max(0, depth)


def _placer(link: LinkFn | None, locate: Callable[[str], str] | None) -> PlaceFn:
    def place(file: str, line: int | None) -> str:
        shown = locate(file) if locate else file
        label = f"{shown}:{line}" if line else shown
        return escape.link(label, link(file, line) if link else None)

    return place


def _document(
    report: Report,
    place: PlaceFn,
    level: Detail,
    pointer: str,
    title: str,
    changes: Mapping[str, object],
    place_removed: PlaceFn,
    gate: Mapping[str, object],
) -> str:
    analysis = report.analysis
    verdict = report.verdict
    parts = [_headline(report, title)]
    if verdict.reasons:
        parts.append("\n".join(f"- {escape.text(r, 500)}" for r in verdict.reasons))
    if gate:
        parts.append(_gate_changes(gate, verdict))
    groups = by_role(analysis.findings)
    gated = {
        role: [f for f in found if f.kind in GATED_KINDS and ignored_reason(f) is None]
        for role, found in groups.items()
    }
    gated = {role: found for role, found in gated.items() if found}
    if changes:
        parts.append(_changes(changes, place, place_removed, level.side_rows, pointer))
    if not gated:
        parts.append("No missing, denied or excess permissions"
                     + (" (besides ignored ones)." if any(
                         ignored_reason(f) for f in analysis.findings) else "."))
    hidden_rows = 0
    for index, (role, found) in enumerate(gated.items()):
        if index >= level.roles:
            hidden_rows += len(found)
            continue
        parts.append(_role_section(role, found, place, level.rows))
        hidden_rows += max(0, len(found) - level.rows)
    if len(gated) > level.roles:
        parts.append(
            f"_…and {len(gated) - level.roles} more role(s) with findings; see {pointer}._"
        )
    elif hidden_rows and level.rows == 0:
        parts.append(f"_{hidden_rows} finding(s) are listed in {pointer}._")
    for kind in ("platform", "unobserved"):
        side = [f for f in analysis.findings if f.kind == kind and ignored_reason(f) is None]
        if side:
            parts.append(_side_section(kind, side, place, level.side_rows, pointer))
    ignored = [f for f in analysis.findings if ignored_reason(f) is not None]
    if ignored:
        parts.append(_ignored_section(ignored, level.side_rows, pointer))
    shared = _shared_roles(analysis.shared_roles)
    if shared:
        parts.append(shared)
    if level.proposals:
        parts.extend(_proposal(role, report) for role in sorted(analysis.proposals))
        parts.append(_principal_proposals(report))
    elif analysis.proposals:
        parts.append(f"_Proposed least-privilege policies: see {pointer}._")
    parts.append(_coverage(report, notes_shown=level.proposals))
    return "\n\n".join(p for p in parts if p) + "\n"


def _title(key: str) -> str:
    """The report's name, and the job's key that sets it apart from its matrix siblings'."""
    return f"leastpriv-ci ({escape.text(key)})" if key else "leastpriv-ci"


def _headline(report: Report, title: str) -> str:
    verdict = report.verdict
    mark = "✅ pass" if verdict.passed else "❌ fail"
    tally = verdict.counts or counts(report.analysis.findings)
    # Bold is what failed the gate, whichever kinds fail-on names (platform and
    # unobserved too), and not a kind that is only reported.
    failed = {f.kind for f in report.analysis.findings if fails_gate(f)}
    shown = []
    for kind in KIND_ORDER:
        number = tally.get(kind, 0)
        label = f"{number} {KIND_TITLES[kind].lower()}"
        shown.append(f"**{label}**" if number and kind in failed else label)
    line = " · ".join(shown)
    if verdict.ignored:
        line += f" · {len(verdict.ignored)} ignore rule(s) applied"
    return f"### {title}: {mark}\n\n{line}"


def _where(finding: Finding, place: PlaceFn) -> str:
    origin = finding.origin
    if origin is None:
        return "—"
    if origin.file:
        return place(origin.file, origin.line)
    return escape.text(str(origin))


def _row(finding: Finding, place: PlaceFn, *, with_kind: bool = True) -> str:
    cells = []
    if with_kind:
        new = "" if not in_baseline(finding) else " (baseline)"
        cells.append(f"{KIND_TITLES.get(finding.kind, finding.kind)}{new}")
    cells += [
        escape.code_cell(finding.action_shown),
        escape.code_cell(finding.resource),
        escape.text(finding.access_level or "—"),
        escape.text(finding.severity) + qualifier(finding),  # the tool's own words
        _where(finding, place),
        _why(finding),
    ]
    return "| " + " | ".join(cells) + " |"


def _why(finding: Finding) -> str:
    """The finding's message and fix as inert prose, the names they mark as code.

    Past :data:`WHY_LIMIT` it is cut between words, never inside a name or ARN, and says
    where the rest is."""
    why = "; ".join(p for p in (finding.message, finding.fix) if p)
    return escape.prose(why, WHY_LIMIT, cell=True, cut=WHY_CUT) if why else "—"


WHY_LIMIT = 600  # the fix names the actions and resources to keep: room for a few ARNs
WHY_CUT = " … (the proposed policy below has it all)"
TABLE_HEAD = (
    "| Kind | Action | Resource | Access level | Severity | Statement | Why |\n"
    "| --- | --- | --- | --- | --- | --- | --- |"
)


def _role_section(
    role: str,
    found: list[Finding],
    place: PlaceFn,
    rows: int,
) -> str:
    principals = sorted({p for f in found for p in f.principals})
    head = f"#### Role {escape.code(role)}"
    if principals:
        shown = ", ".join(escape.code(p) for p in principals[:5])
        more = f" and {len(principals) - 5} more" if len(principals) > 5 else ""
        head += f"\n\nUsed by {shown}{more}"
    if rows == 0:
        return f"{head}\n\n{len(found)} finding(s)."
    lines = [head, "", TABLE_HEAD, *(_row(f, place) for f in found[:rows])]
    if len(found) > rows:
        lines += ["", f"…and {len(found) - rows} more"]
    return "\n".join(lines)


def _side_section(
    kind: str, found: list[Finding], place: PlaceFn, rows: int, pointer: str
) -> str:
    if kind == "platform":
        summary = f"Platform-required permissions ({len(found)}): used by AWS on the roles' behalf"
    else:
        summary = f"Unobserved ({len(found)}): no traces, so no verdict"
    # With fail-on naming the kind these can fail the gate: then the fold is open, says
    # so, and lists those first, so the reason for the failure is not hidden.
    failing = sum(1 for f in found if fails_gate(f))
    if failing:
        summary += f"; {failing} failed the gate (fail-on: {kind})"
        found = sorted(found, key=lambda f: not fails_gate(f))
    table = [f"| {escape.code_cell(f.role)} | {escape.code_cell(f.action)} | "
             f"{escape.code_cell(f.resource)} | {_where(f, place)} |" for f in found[:rows]]
    return _folded(summary, ("Role", "Action", "Resource", "Statement"), table, len(found),
                   pointer, bool(failing))


def _ignored_section(found: list[Finding], rows: int, pointer: str) -> str:
    table = [f"| {KIND_TITLES.get(f.kind, f.kind)} | {escape.code_cell(f.role)} | "
             f"{escape.code_cell(f.action_shown)} | {escape.code_cell(f.resource)} | "
             f"{escape.text(ignored_reason(f) or '')} |" for f in found[:rows]]
    return _folded(f"Ignored by configuration ({len(found)})",
                   ("Kind", "Role", "Action", "Resource", "Reason"), table, len(found), pointer)


def _folded(summary: str, columns: tuple[str, ...], table: list[str], total: int,
            pointer: str, open_: bool = False) -> str:
    """A fold of ``total`` findings: ``table``, their first rows (none: only where they
    are listed)."""
    lines = [f"<details{' open' if open_ else ''}><summary>{summary}</summary>", ""]
    if table:
        lines += ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns), *table]
        if total > len(table):
            lines += ["", f"…and {total - len(table)} more"]
    else:
        lines.append(f"Listed in {pointer}.")
    lines += ["", "</details>"]
    return "\n".join(lines)


def _shared_roles(shared: object) -> str:
    if not isinstance(shared, dict) or not shared:
        return ""
    lines = []
    for role, principals in sorted(shared.items()):
        names = ", ".join(escape.code(p) for p in list(principals)[:5])
        more = f" and {len(principals) - 5} more" if len(principals) > 5 else ""
        lines.append(
            f"- Role {escape.code(role)} is shared by {len(principals)} principals "
            f"({names}{more}): its policy must cover all of them; one role per function "
            "lets each be least-privilege."
        )
    return "**Shared roles**\n\n" + "\n".join(lines)


def _proposal(role: str, report: Report) -> str:
    analysis = report.analysis
    proposed = json.dumps(analysis.proposals[role], indent=2, sort_keys=False)
    lines = [
        f"<details><summary>Proposed policy for <code>{escape.inline_html(role)}</code>"
        "</summary>",
        "",
        escape.fenced(proposed, "json"),
    ]
    lines += _notes(analysis.proposal_notes.get(role, ()))
    diff = analysis.diffs.get(role)
    if diff:
        lines += [
            "",
            "Changes against the declared policy (jsondiff, symmetric form: a changed "
            "value reads `[declared, proposed]`; `$insert` and `$delete` list what the "
            "proposal adds and drops):",
            "",
            escape.fenced(json.dumps(diff, indent=2, default=str), "json"),
        ]
    lines += ["", "</details>"]
    return "\n".join(lines)


def _principal_proposals(report: Report) -> str:
    """What each principal of a shared (or unknown) role needs on its own."""
    proposals = report.analysis.principal_proposals
    if not proposals:
        return ""
    lines = [
        f"<details><summary>What each principal needs on its own ({len(proposals)}): "
        "the policy of a dedicated role</summary>",
    ]
    for principal, document in sorted(proposals.items()):
        lines += ["", f"{escape.code(principal)}", "",
                  escape.fenced(json.dumps(document, indent=2), "json")]
        lines += _notes(report.analysis.principal_proposal_notes.get(principal, ()))
    lines += ["", "</details>"]
    return "\n".join(lines)


def _notes(notes: Sequence[str]) -> list[str]:
    """A proposal's notes, as lines to follow it (none when it has none)."""
    if not notes:
        return []
    return ["", "Notes on this proposal:", "", *(f"- {escape.prose(n, MAX_NOTE)}" for n in notes)]


def _statement_line(entry: object, place: PlaceFn) -> str:
    if not isinstance(entry, Mapping):
        return "- (unreadable statement)"
    statement = entry.get("statement")
    origin = entry.get("origin")
    doc = statement if isinstance(statement, Mapping) else {}
    actions = doc.get("Action", doc.get("NotAction", ""))
    resources = doc.get("Resource", doc.get("NotResource", ""))
    shown_actions = ", ".join(actions) if isinstance(actions, list) else str(actions)
    shown_resources = ", ".join(resources) if isinstance(resources, list) else str(resources)
    line = (
        f"- {escape.text(str(doc.get('Effect', '')))} {escape.code(shown_actions)} on "
        f"{escape.code(shown_resources)}"
    )
    if isinstance(origin, Mapping) and isinstance(origin.get("file"), str):
        file, number = str(origin["file"]), origin.get("line")
        line += " at " + place(file, number if isinstance(number, int) else None)
    return line


def _gate_changes(gate: Mapping[str, object], verdict: Verdict) -> str:
    """The pull request's changes to its own gate, with the base's verdict when it fails."""
    changes = [c for c in _list(gate.get("changes")) if isinstance(c, Mapping)]
    lines = [f"⚠️ **This pull request changes the settings that gate it**, in "
             f"{escape.code(str(gate.get('config_file', '')))}:"]
    lines += [f"- {escape.text(str(c.get('setting')))}: {escape.code(str(c.get('base')))} → "
              f"{escape.code(str(c.get('head')))}" for c in changes]
    if gate.get("base_verdict") == "fail" and verdict.passed:
        reasons = [str(r) for r in _list(gate.get("base_reasons"))]
        lines += ["", "With the base commit's settings this check **fails**"
                  + (f": {escape.text(reasons[0], 500)}" if reasons else ".")]
    return "\n".join(lines)


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _changes(changes: Mapping[str, object], place: PlaceFn, place_removed: PlaceFn,
             rows: int, pointer: str) -> str:
    lines = [f"<details open><summary>IAM changes in this pull request ({len(changes)} "
             "role(s))</summary>", ""]
    listed = 0
    for role, change in sorted(changes.items()):
        if not isinstance(change, Mapping):
            continue
        status = escape.text(str(change.get("status", "changed")))
        lines.append(f"**{escape.code(role)}** ({status})")
        lines.append("")
        for label in ("added", "removed"):
            entries = change.get(label)
            if not isinstance(entries, list) or not entries:
                continue
            lines.append(f"{label.capitalize()}:" if label == "added"
                         else "Removed (lines of the base commit):")
            for entry in entries:
                if listed >= rows:
                    break
                lines.append(_statement_line(entry, place if label == "added"
                                             else place_removed))
                listed += 1
            lines.append("")
    if rows and listed >= rows:
        lines.append(f"_…more changes in {pointer}._")
    elif not rows:
        lines.append(f"Listed in {pointer}.")
    lines += ["", "</details>"]
    return "\n".join(lines)


def _coverage(report: Report, *, notes_shown: bool = False) -> str:
    coverage = report.analysis.coverage
    lines = [f"- {coverage.traces} trace(s) read"]
    if coverage.window:
        lines[0] += f", from {shown(coverage.window[0])} to {shown(coverage.window[1])}"
    lines.append(
        f"- {len(coverage.principals)} principal(s) seen, {len(coverage.roles)} role(s) analysed"
    )
    if coverage.unmapped:
        names = ", ".join(escape.code(p) for p in coverage.unmapped[:10])
        more = f" and {len(coverage.unmapped) - 10} more" if len(coverage.unmapped) > 10 else ""
        lines.append(
            f"- ⚠️ {len(coverage.unmapped)} principal(s) with no known role: {names}{more} "
            "(map them with `principals:` in the config file or `--principal-map`)"
        )
    if coverage.unobserved:
        names = ", ".join(escape.code(p) for p in coverage.unobserved[:10])
        more = (
            f" and {len(coverage.unobserved) - 10} more" if len(coverage.unobserved) > 10 else ""
        )
        lines.append(
            f"- {len(coverage.unobserved)} role(s) or principal(s) without traces "
            f"(no verdict): {names}{more}"
        )
    if coverage.unknown_resources:
        lines.append(
            f"- {coverage.unknown_resources} access(es) whose traces named no resource"
        )
    files = coverage.policy_files
    if files:
        names = ", ".join(escape.code(p) for p in files[:10])
        more = f" and {len(files) - 10} more" if len(files) > 10 else ""
        lines.append(f"- policy files read: {names}{more}")
    else:
        lines.append("- no policy files read")
    notices = report.analysis.notices.items()
    if notices:
        lines.append(f"- {len(notices)} kind(s) of warning:")
        lines += [f"  - {escape.text(str(n), 300)}" for n in notices[:10]]
    notes = [(role, note) for role, found in sorted(report.analysis.proposal_notes.items())
             for note in found]
    if notes and not notes_shown:  # else under their proposals already
        lines.append(f"- {len(notes)} note(s) on the proposals:")
        lines += [f"  - {escape.prose(f'proposal for {mark(role)}: {note}', 300)}"
                  for role, note in notes[:10]]
    return "<details><summary>Coverage</summary>\n\n" + "\n".join(lines) + "\n\n</details>"
