"""SARIF 2.1.0 for GitHub code scanning: one rule per finding kind (per kind and severity
for the kinds whose findings differ in severity), one result per finding."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from urllib.parse import quote

from leastpriv_ci import __version__
from leastpriv_ci.analysis.severity import get_rules
from leastpriv_ci.grants.checkout import repository_paths
from leastpriv_ci.records import SEVERITIES, Finding, Report
from leastpriv_ci.report.escape import visible
from leastpriv_ci.report.files import write_atomically
from leastpriv_ci.report.findings import KIND_ORDER, ignored_reason

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/leastpriv-ci/leastpriv-ci"
FINGERPRINT = "leastprivFinding/v1"
# Code scanning rejects a whole upload when one result has no location ("expected at least
# one location"); findings with no file of their own (roles read from the account) are
# placed on this file when no better one is known.
FALLBACK_URI = ".leastpriv.yml"

# GitHub code scanning rejects a run with more results than this (an upload-sarif error).
MAX_RESULTS = 25_000

LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub buckets security-severity: >= 9 critical, >= 7 high, >= 4 medium, else low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}

RULES = {
    "missing": (
        "Permission used but not granted",
        "The application called an AWS action that no statement of its role allows: the "
        "call fails in production once the role is deployed as declared.",
        "Add an Allow statement for the action on the resource named in the finding, "
        "scoped to that resource.",
        "high",
    ),
    "denied": (
        "Permission denied at runtime",
        "A traced call failed with an authorization error: the role lacks the permission "
        "or a Deny statement or boundary forbids it.",
        "Grant the action on the resource, or change the Deny statement that covers it.",
        "high",
    ),
    "excess": (
        "Permission granted but never used",
        "The role allows an action or resource the traced run never used; every unused "
        "permission widens what a compromised function can do.",
        "Remove the action, or narrow the statement to the actions and resources used; "
        "the proposed least-privilege policy in the report shows the result.",
        "medium",
    ),
    "platform": (
        "Permission used by AWS on the role's behalf",
        "Lambda logging, X-Ray writes, VPC interfaces, event source polling and similar "
        "permissions never appear in traces but are needed; they are not excess.",
        "Keep the permission; it is listed for completeness.",
        "info",
    ),
    "unobserved": (
        "Role with no traces",
        "No trace names a principal of this role, so there is no verdict on it.",
        "Exercise the role's functions in the integration tests, or map principals to "
        "roles with the `principals:` config key.",
        "info",
    ),
}


def fingerprint(finding: Finding) -> str:
    """Stable across runs for the same (kind, role, action, resource)."""
    key = "\x1f".join((finding.kind, finding.role, finding.action.lower(), finding.resource))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Rule(NamedTuple):
    """One SARIF rule: a finding kind, per severity when the kind's findings differ in it."""

    id: str
    kind: str
    severity: str
    graded: bool


def rules_for(findings: Iterable[Finding] = ()) -> list[Rule]:
    """Every rule. Code scanning reads ``security-severity`` from the rule alone, so a
    kind whose findings differ in severity (a critical ``*`` on ``*`` and a low read of one
    table are both excess) has one rule per severity the data gives it, and per severity
    one of ``findings`` carries besides (the data tuned since)."""
    severities = get_rules().severities
    found: list[Rule] = []
    for kind in (k for k in KIND_ORDER if k in RULES):
        possible = severities(kind)
        if len(possible) > 1:
            carried = {f.severity for f in findings if f.kind == kind} - set(possible)
            found.extend(Rule(f"leastpriv/{kind}/{severity}", kind, severity, True)
                         for severity in (*possible, *sorted(carried)))
        else:
            found.append(Rule(f"leastpriv/{kind}", kind,
                              possible[0] if possible else RULES[kind][3], False))
    return found


def _rule(rule: Rule) -> dict[str, object]:
    name, full, help_text, _ = RULES[rule.kind]
    kind, severity, graded = rule.kind, rule.severity, rule.graded
    if graded:
        name = f"{name} ({severity})"
    return {
        "id": rule.id,
        "name": "".join(word.capitalize() for word in kind.split("-")) + "Permission"
        + (severity.capitalize() if graded else ""),
        "shortDescription": {"text": name},
        "fullDescription": {"text": full},
        "help": {"text": help_text, "markdown": f"**{name}**\n\n{full}\n\n{help_text}"},
        "defaultConfiguration": {"level": LEVELS.get(severity, "note")},
        "properties": {
            "security-severity": SECURITY_SEVERITY.get(severity, "1.0"),
            "tags": ["security", "iam", "least-privilege"],
            "precision": "high",
        },
    }


def relative_uri(path: str, root: Path | None) -> str:
    """A forward-slash path relative to the repository root, as code scanning expects."""
    candidate = Path(path)
    if root is not None and candidate.is_absolute():
        try:
            candidate = candidate.resolve().relative_to(root.resolve())
        except ValueError:
            return candidate.as_uri()
    posix = PurePosixPath(candidate.as_posix())
    # A URI reference, not a file name: " ", "#", "%", "?" and friends are percent-encoded so
    # "infra/my stack/a#1.yaml" names that file rather than a fragment of another one.
    return quote(str(posix).removeprefix("./"), safe="/")


def _result(
    finding: Finding, rule: tuple[str, int], uri: Callable[[str], str], fallback_uri: str
) -> dict[str, object]:
    message = finding.message or f"{finding.kind}: {finding.action} on {finding.resource}"
    if finding.fix:
        message += f" Fix: {finding.fix}."
    properties: dict[str, object] = {
        "security-severity": SECURITY_SEVERITY.get(finding.severity, "1.0"),
        "role": finding.role,
        "action": finding.action,
        "resource": finding.resource,
        "principals": list(finding.principals),
        "access_level": finding.access_level,
        "trace_ids": list(finding.trace_ids),
    }
    if finding.one_of:
        properties["one_of"] = list(finding.one_of)
    result: dict[str, object] = {
        "ruleId": rule[0],
        "ruleIndex": rule[1],
        "level": LEVELS.get(finding.severity, "note"),
        # Shown by code scanning: invisible format characters (bidi overrides in names a
        # pull request wrote) as \uXXXX; the properties keep the values as they are
        "message": {"text": visible(f"{message} (role {finding.role})")},
        "partialFingerprints": {FINGERPRINT: fingerprint(finding)},
        "properties": properties,
    }
    origin = finding.origin
    if origin is not None and origin.file:
        location: dict[str, object] = {
            "artifactLocation": {"uri": uri(origin.file)},
        }
        if origin.line and origin.line > 0:
            location["region"] = {"startLine": origin.line}
        result["locations"] = [{"physicalLocation": location}]
    else:
        result["locations"] = [
            {"physicalLocation": {"artifactLocation": {"uri": uri(fallback_uri)}}}
        ]
        properties["location_is_fallback"] = True
    reason = ignored_reason(finding)
    if reason is not None:
        result["suppressions"] = [{"kind": "external", "justification": visible(reason)}]
    return result


def to_sarif(
    report: Report, *, root: Path | None = None, fallback_uri: str | None = None,
    limit: int = MAX_RESULTS,
) -> dict[str, object]:
    """The SARIF 2.1.0 log for ``report``; file paths (relative to ``root``, the folder the
    scan read) become paths in the git repository holding each file, as code scanning
    places them (a checkout under ``path: app`` names ``iam/role.json``, not
    ``app/iam/role.json``).

    Every result has a location, as code scanning requires: a finding without a file of
    its own is placed on ``fallback_uri`` (e.g. the workflow file), else on the first
    policy file read, else on the config file. At most ``limit`` results (code scanning's
    cap), the most severe (:func:`kept_findings`); the run's ``results_omitted`` property
    and a tool notification say how many were left out.
    """
    rules = rules_for(report.analysis.findings)
    # a graded kind's rule by (kind, severity); a kind of one severity's by (kind, None)
    index = {(rule.kind, rule.severity if rule.graded else None): (rule.id, i)
             for i, rule in enumerate(rules)}
    files = report.analysis.coverage.policy_files
    fallback = fallback_uri or (files[0] if files else FALLBACK_URI)
    locate = repository_paths(root) if root is not None else str

    def uri(path: str) -> str:
        return relative_uri(locate(path), root)

    def rule_of(finding: Finding) -> tuple[str, int] | None:
        return index.get((finding.kind, None)) or index.get((finding.kind, finding.severity))

    ruled = [(f, rule) for f in report.analysis.findings if (rule := rule_of(f)) is not None]
    kept = kept_findings([f for f, _ in ruled], limit)
    results = [_result(f, rule, uri, fallback) for f, rule in ruled if id(f) in kept]
    omitted = len(ruled) - len(results)
    run_properties: dict[str, object] = {"verdict": report.verdict.name}
    extra_run: dict[str, object] = {}
    if omitted:
        run_properties["results_omitted"] = omitted
        extra_run["invocations"] = [{
            "executionSuccessful": True,
            "toolExecutionNotifications": [{
                "level": "warning",
                "message": {"text": omitted_message(omitted, limit)},
            }],
        }]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "leastpriv-ci",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(rule) for rule in rules],
                    }
                },
                "results": results,
                **extra_run,
                "properties": run_properties,
            }
        ],
    }


def kept_findings(findings: list[Finding], limit: int = MAX_RESULTS) -> set[int]:
    """The ids of the ``limit`` findings a capped run keeps: those failing the gate, then
    the most severe, active before ignored, in report order among equals."""
    if len(findings) <= limit:
        return {id(f) for f in findings}
    rank = {severity: i for i, severity in enumerate(SEVERITIES)}

    def weight(finding: Finding) -> tuple[bool, int, bool]:
        return (finding.detail.get("fails_gate") is True, rank.get(finding.severity, 0),
                ignored_reason(finding) is None)

    ordered = sorted(findings, key=weight, reverse=True)  # stable: report order among equals
    return {id(f) for f in ordered[:limit]}


def omitted_message(omitted: int, limit: int = MAX_RESULTS) -> str:
    """What a capped SARIF run says about the findings it leaves out."""
    return (f"{omitted} finding(s) of lower severity were left out of this SARIF run: "
            f"GitHub code scanning accepts at most {limit:,} results per run. The JSON "
            "report holds every finding.")


def dumps(
    report: Report, *, root: Path | None = None, fallback_uri: str | None = None
) -> str:
    """The SARIF log as indented JSON text."""
    return json.dumps(to_sarif(report, root=root, fallback_uri=fallback_uri), indent=2) + "\n"


def write_sarif(
    report: Report, path: Path, *, root: Path | None = None, fallback_uri: str | None = None
) -> None:
    """Write the SARIF log to ``path`` atomically, never through a link the checkout holds."""
    write_atomically(path, dumps(report, root=root, fallback_uri=fallback_uri),
                     what="the SARIF file",
                     remedy="set sarif-file (--sarif-file) to another path")
