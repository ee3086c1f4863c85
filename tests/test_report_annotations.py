"""Annotations: on the statement's file and line, most severe first, ignored ones left out."""

from __future__ import annotations

from dataclasses import replace

from leastpriv_ci.report.annotations import from_findings, level_of
from leastpriv_ci.runner import Annotation
from tests.report_helpers import finding


def test_most_severe_first_with_file_and_line() -> None:
    result = from_findings([
        finding("excess", "s3:ListBucket", severity="low", line=5),
        finding("missing", "dynamodb:PutItem", severity="high", line=30),
        finding("excess", "iam:PassRole", severity="critical", line=8),
        finding("excess", "s3:PutObject", severity="medium", line=9),
    ])
    assert [(a.level, a.line) for a in result] == [
        ("error", 8), ("error", 30), ("warning", 9), ("notice", 5)]
    assert all(isinstance(a, Annotation) and a.file == "template.yaml" for a in result)
    assert result[1].title == "Missing permission: dynamodb:PutItem"
    assert "Fix: remove `dynamodb:PutItem`" in result[1].message


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
