"""Annotations: on the statement's file and line, most severe first, ignored ones left out."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from leastpriv_ci.gate import GateRules, decide
from leastpriv_ci.records import Finding
from leastpriv_ci.report.annotations import from_findings, level_of
from leastpriv_ci.report.findings import KIND_TITLES
from leastpriv_ci.runner import Annotation
from tests.report_helpers import analysis, finding


def failing(f: Finding) -> Finding:
    """``f`` as the gate marks a finding it failed on."""
    return replace(f, detail={**f.detail, "fails_gate": True})


def test_most_severe_first_with_file_and_line() -> None:
    result = from_findings([
        finding("excess", "s3:ListBucket", severity="low", line=5),
        failing(finding("missing", "dynamodb:PutItem", severity="high", line=30)),
        finding("excess", "iam:PassRole", severity="critical", line=8),
        finding("excess", "s3:PutObject", severity="medium", line=9),
    ])
    assert [(a.level, a.line) for a in result] == [
        ("error", 30), ("warning", 8), ("warning", 9), ("notice", 5)]
    assert all(isinstance(a, Annotation) and a.file == "template.yaml" for a in result)
    assert result[0].title == "Missing permission: dynamodb:PutItem"
    assert "Fix: remove `dynamodb:PutItem`" in result[0].message


def test_findings_without_a_statement_come_after_located_ones() -> None:
    result = from_findings([
        finding("missing", "sqs:SendMessage", severity="high", file=None),
        finding("missing", "sns:Publish", severity="high", line=3),
    ])
    assert [(a.file, a.line) for a in result] == [("template.yaml", 3), (None, None)]


def test_ignored_unobserved_and_platform_are_not_annotated() -> None:
    ignored = replace(finding(), detail={"ignored": "accepted"})
    assert from_findings([
        ignored,
        finding("unobserved", "*", "*", severity="info"),
        finding("platform", "logs:PutLogEvents", "*", severity="info"),
    ]) == []


def test_annotation_command_escapes_hostile_text() -> None:
    hostile = finding("excess", "s3:Get*", "arn:aws:s3:::b/x\n::error::pwned%0A", line=4)
    command = from_findings([hostile])[0].to_command()
    assert "\n" not in command and "%0A" in command and "%250A" in command
    assert level_of(hostile) == "warning"


def test_the_level_follows_the_gate_not_the_severity() -> None:
    # A low excess finding that fails the gate is an error; a high finding of a kind the
    # gate does not fail on (fail-on: missing) informs, as a warning.
    low_excess = finding("excess", "s3:ListBucket", severity="low", line=5)
    high_excess = finding("excess", "iam:PassRole", severity="high", line=8)
    _, gated = decide(analysis(low_excess), GateRules(fail_on=frozenset({"excess"})),
                      today=date(2026, 1, 1))
    _, reported = decide(analysis(high_excess), GateRules(fail_on=frozenset({"missing"})),
                         today=date(2026, 1, 1))
    assert [a.level for a in from_findings(gated.findings)] == ["error"]
    assert [a.level for a in from_findings(reported.findings)] == ["warning"]
    assert level_of(low_excess) == "notice"  # not gated: by severity


def test_bidi_overrides_in_trace_text_are_shown_in_annotations() -> None:
    spoofed = finding("excess", "s3:GetObject", "arn:aws:s3:::b/invoice\u202efdp.exe", line=4)
    annotation = from_findings([replace(spoofed, message="grants invoice\u202efdp.exe")])[0]
    assert "\u202e" not in annotation.message and "invoice\\u202efdp.exe" in annotation.message
    assert "\n" in annotation.message  # the message keeps its own lines


@pytest.mark.parametrize("kind", ["platform", "unobserved"])
def test_quiet_kinds_are_errors_when_they_failed_the_gate(kind: str) -> None:
    # fail-on: platform / unobserved makes these fail the gate; the run must show why.
    found = finding(kind, "logs:PutLogEvents", "*", severity="info", file=None)
    _, marked = decide(analysis(found), GateRules(fail_on=frozenset({kind})),
                       today=date(2026, 1, 1))
    result = from_findings([*marked.findings, finding("excess", severity="high")])
    assert [a.level for a in result] == ["error", "warning"]
    assert result[0].title == f"{KIND_TITLES[kind]} permission: logs:PutLogEvents"
