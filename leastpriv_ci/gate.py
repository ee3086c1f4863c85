"""The gate: ignore rules, baseline, thresholds and severity floor → pass or fail.

Ignored findings stay in the report, marked with the rule's reason; an ignore rule past
its ``expires`` date stops applying and says so. The reasons are sentences printed last.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date

from leastpriv_ci.analysis.missing import by_resource_policy
from leastpriv_ci.analysis.severity import get_rules
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.wildcards import wildcard_regex
from leastpriv_ci.records import (
    FINDING_KINDS,
    SEVERITIES,
    Analysis,
    Coverage,
    Finding,
    Verdict,
)
from leastpriv_ci.report.escape import console

DEFAULT_FAIL_ON = frozenset({"missing", "denied"})
DEFAULT_MIN_SEVERITY = "low"
MAX_RULES_LISTED = 10  # ignore rules that applied, each named in the verdict's reasons
MAX_LISTED = 5
# Reasons read in the order that matters: what breaks the app before what is too wide.
GATE_ORDER = ("missing", "denied", "excess", "platform", "unobserved")

FindingKey = tuple[str, str, str, str]


def finding_key(kind: str, role: str, action: str, resource: str) -> FindingKey:
    """The identity of a finding across runs: (kind, role, action lower-cased, resource)."""
    return (kind, role, action.lower(), resource)


@dataclass(frozen=True)
class IgnoreRule:
    """Accept findings matching IAM-wildcard patterns, for a stated reason, maybe until a date."""

    reason: str
    action: str = "*"
    resource: str = "*"
    role: str = "*"
    kinds: frozenset[str] = frozenset()  # empty: every kind
    expires: date | None = None
    where: str = "ignore"  # config file:line, for messages

    def describe(self) -> str:
        """A short human label: where it is and what it matches."""
        parts = [f"action {self.action}", f"resource {self.resource}"]
        if self.role != "*":
            parts.append(f"role {self.role}")
        if self.kinds:
            parts.append("kind " + "/".join(sorted(self.kinds)))
        return f"{self.where} ({', '.join(parts)})"

    def matches(self, finding: Finding) -> bool:
        """Whether this rule covers ``finding`` (actions case-insensitive, ARNs not). A
        finding on one of several actions (``one_of``) is covered when each of them is."""
        if self.kinds and finding.kind not in self.kinds:
            return False
        actions = wildcard_regex(self.action, case_sensitive=False)
        return bool(
            all(actions.fullmatch(action) for action in finding.one_of or (finding.action,))
            and wildcard_regex(self.resource, case_sensitive=True).fullmatch(finding.resource)
            and wildcard_regex(self.role, case_sensitive=True).fullmatch(finding.role)
        )

    def expired(self, today: date) -> bool:
        """True from the day after ``expires``."""
        return self.expires is not None and today > self.expires


@dataclass(frozen=True)
class GateRules:
    """What fails the build. ``baseline`` holds the finding keys of a previous report.

    Excess is gated when ``fail_on`` names it or when ``max_excess`` is set (a threshold
    is a request to gate); missing and denied tolerate none.
    """

    fail_on: frozenset[str] = DEFAULT_FAIL_ON
    max_excess: int | None = None
    min_severity: str = DEFAULT_MIN_SEVERITY
    ignore: tuple[IgnoreRule, ...] = ()
    baseline: frozenset[FindingKey] | None = None
    baseline_file: str | None = None
    notices: Notices = field(default_factory=Notices, compare=False)

    @property
    def gating(self) -> bool:
        """Whether anything can fail the gate: not so with ``fail-on: none`` and no
        ``max-excess`` (a shadow run)."""
        return bool(self.fail_on) or self.max_excess is not None


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def _listed(findings: list[Finding]) -> str:
    # Reasons are printed as console lines: trace text must not break them.
    shown = ", ".join(f"role {console(f.role)}" if f.kind == "unobserved"  # names no action
                      else f"{console(f.action_shown)} on {console(f.resource)}"
                      for f in findings[:MAX_LISTED])
    more = f" and {len(findings) - MAX_LISTED} more" if len(findings) > MAX_LISTED else ""
    return shown + more


def decide(analysis: Analysis, rules: GateRules, *, today: date) -> tuple[Verdict, Analysis]:
    """Apply ignore rules and the baseline, then the thresholds.

    Returns the verdict and the analysis with findings marked (``detail["ignored"]`` holds
    the reason, ``detail["baseline"]`` is True for excess already in the baseline, and
    ``detail["fails_gate"]`` is True for each finding counted past a threshold).
    """
    warnings: list[str] = []
    active: list[IgnoreRule] = []
    for rule in rules.ignore:
        if rule.expired(today):
            # The config file is pull-request text too: a line break in its reason
            # would start a console line a runner could read as a workflow command.
            warnings.append(
                f"Ignore rule {console(rule.describe())} expired on {rule.expires} and no "
                f"longer applies; renew or remove it (reason was: {console(rule.reason)})."
            )
            analysis.notices.add(
                "ignore-expired", "an ignore rule has expired and no longer applies",
                rule.where,
            )
        else:
            active.append(rule)

    applied: dict[IgnoreRule, int] = {}
    marked: list[Finding] = []
    for finding in analysis.findings:
        detail = dict(finding.detail)
        matching = next((r for r in active if r.matches(finding)), None)
        if matching is not None:
            detail["ignored"] = matching.reason
            detail["ignored_by"] = matching.where
            applied[matching] = applied.get(matching, 0) + 1
        if (
            rules.baseline is not None
            and finding.kind == "excess"
            and finding_key(finding.kind, finding.role, finding.action, finding.resource)
            in rules.baseline
        ):
            detail["baseline"] = True
        marked.append(replace(finding, detail=detail) if detail != finding.detail else finding)

    visible = [f for f in marked if "ignored" not in f.detail]
    counts = {kind: sum(1 for f in visible if f.kind == kind) for kind in FINDING_KINDS}
    floor = _rank(rules.min_severity)
    # unobserved and platform findings are always info: fail-on naming them is what gates
    graded = get_rules().graded
    # kept out of the gate for what they are, whatever their severity
    judged = [f for f in visible
              if f.detail.get("baseline") is not True and not _undecided(f)
              and not _partial(f) and not _possibly_needed(f)]
    gated = {
        kind: [f for f in judged
               if f.kind == kind and (_rank(f.severity) >= floor or not graded(kind))]
        for kind in FINDING_KINDS
    }

    def gates(kind: str) -> bool:
        """Whether findings of ``kind`` can fail the gate (excess also by max-excess)."""
        return kind in rules.fail_on or (kind == "excess" and rules.max_excess is not None)

    undecided = sum(1 for f in visible if _undecided(f) and not by_resource_policy(f))
    resource_policy = sum(1 for f in visible if by_resource_policy(f))
    partial = sum(1 for f in visible if _partial(f))
    possibly_needed = sum(1 for f in visible if _possibly_needed(f) and not _partial(f))

    reasons: list[str] = []
    failed = False
    failing: set[int] = set()  # ids of the findings that fail the gate
    severity_note = f" at or above severity {rules.min_severity}" if floor > 0 else ""
    for kind in GATE_ORDER:
        found = gated[kind]
        if not gates(kind):
            continue
        allowed = (rules.max_excess or 0) if kind == "excess" else 0
        new = " new" if kind == "excess" and rules.baseline is not None else ""
        if len(found) > allowed:
            failed = True
            failing.update(id(f) for f in found)
            limit = f", over max-excess {allowed}" if allowed else ""
            floor_note = severity_note if graded(kind) else ""
            reasons.append(
                f"{len(found)}{new} {kind} finding(s){floor_note}{limit}: {_listed(found)}."
            )
        elif found:
            reasons.append(
                f"{len(found)}{new} {kind} finding(s){severity_note}, within max-excess "
                f"{allowed}."
            )
    not_gated = sorted(k for k in ("missing", "denied", "excess") if not gates(k))
    for kind in not_gated:
        if counts[kind]:
            reasons.append(
                f"{counts[kind]} {kind} finding(s) reported but not gated (fail-on does not "
                f"include {kind})."
            )
    for kind in GATE_ORDER:
        # gated kinds only: the others are said to be not gated above
        if not graded(kind) or not gates(kind):
            continue
        below = sum(1 for f in judged if f.kind == kind and _rank(f.severity) < floor)
        if below:
            reasons.append(f"{below} {kind} finding(s) below min-severity "
                           f"{rules.min_severity}: reported, not gated.")
    if undecided and "missing" in rules.fail_on:
        reasons.append(
            f"{undecided} missing finding(s) rest on a condition the traces cannot decide "
            "(\"may be missing\"): reported, not gated."
        )
    if resource_policy and "missing" in rules.fail_on:
        reasons.append(
            f"{resource_policy} missing finding(s) are allowed by a resource-based policy "
            "(naming the role, or its account or organization), not by the role's own "
            "policies: reported, not gated."
        )
    if partial and ("excess" in rules.fail_on or rules.max_excess is not None):
        reasons.append(
            f"{partial} excess finding(s) are on roles that also run principals without "
            "traces: reported, not gated."
        )
    if possibly_needed and ("excess" in rules.fail_on or rules.max_excess is not None):
        reasons.append(
            f"{possibly_needed} excess finding(s) grant only actions that traced calls may "
            "need (their request decides, which the traces do not record): reported, not "
            "gated."
        )
    if rules.baseline is not None:
        known = sum(1 for f in visible if f.detail.get("baseline") is True)
        if known:
            reasons.append(
                f"{known} excess finding(s) already in the baseline "
                f"{console(rules.baseline_file or '')}"
                " do not fail the gate.".replace("  ", " ")
            )
    ignored = tuple(
        f"Ignore rule {rule.describe()} matched {count} finding(s): {rule.reason}"
        for rule, count in applied.items()
    )
    if ignored:
        reasons.append(f"{sum(applied.values())} finding(s) ignored by {len(ignored)} rule(s).")
        reasons.extend(ignored[:MAX_RULES_LISTED])
        if len(ignored) > MAX_RULES_LISTED:
            reasons.append(f"... and {len(ignored) - MAX_RULES_LISTED} more ignore rule(s) "
                           "that applied.")
    nothing = nothing_verified(analysis.coverage)
    if nothing is not None:
        # A green check that verified nothing is the failure users fear most; with
        # fail-on: none (a shadow run, nothing gates) it is said, not gated.
        failed = failed or rules.gating
        reasons.append(nothing)
    reasons.extend(warnings)
    if failed:
        reasons.append("The gate failed.")
    else:
        reasons.append("The gate passed.")
    verdict = Verdict(passed=not failed, reasons=tuple(reasons), counts=counts, ignored=ignored)
    findings = tuple(
        replace(f, detail={**f.detail, "fails_gate": True}) if id(f) in failing else f
        for f in marked
    )
    return verdict, replace(analysis, findings=findings)


def nothing_verified(coverage: Coverage) -> str | None:
    """Why no traced principal's use was compared with a role's policies, if none was."""
    if not coverage.traces and not coverage.principals:
        return ("No traces were read: nothing was verified (check the trace source, "
                "the time window or the filter expression).")
    if not coverage.principals:
        return (f"{coverage.traces} trace(s) were read, but no principal was found in them "
                "(a Lambda function, an ECS task, or a segment named in principal-map): "
                "nothing was verified.")
    if set(coverage.principals) <= set(coverage.unmapped):
        return (f"No traced principal's role was found ({len(coverage.principals)} "
                "principal(s) with no known role): nothing was verified. Check "
                "policy-paths, or map each principal to its role under principals: in "
                ".leastpriv.yml.")
    return None


def _undecided(finding: Finding) -> bool:
    """A "may be missing": an undecidable condition never proves access missing."""
    return finding.kind == "missing" and finding.conditional


def _partial(finding: Finding) -> bool:
    """Excess on a role whose other principals had no traces: no verdict on what they use."""
    return finding.kind == "excess" and bool(finding.detail.get("untraced_principals"))


def _possibly_needed(finding: Finding) -> bool:
    """Excess of nothing but what traced calls may have needed: their request decides."""
    return finding.kind == "excess" and finding.detail.get("only_possibly_needed") is True


def baseline_keys(document: object) -> frozenset[FindingKey]:
    """Finding keys of a previous ``scan --format json`` report (bad entries skipped)."""
    findings: Iterable[object] = ()
    if isinstance(document, dict) and isinstance(document.get("findings"), list):
        findings = document["findings"]
    keys = set()
    for item in findings:
        if not isinstance(item, dict):
            continue
        parts = [item.get(k) for k in ("kind", "role", "action", "resource")]
        if all(isinstance(p, str) for p in parts):
            kind, role, action, resource = (str(p) for p in parts)
            keys.add(finding_key(kind, role, action, resource))
    return frozenset(keys)
