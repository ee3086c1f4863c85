"""``scan --format text``: counts, findings per role, coverage."""

from __future__ import annotations

from leastpriv_ci.analysis.severity import get_rules
from leastpriv_ci.report import text
from tests.report_helpers import finding, report


def test_an_unobserved_role_reads_as_no_verdict_not_as_a_grant_of_everything() -> None:
    from dataclasses import replace

    message = get_rules().message("unobserved", "role")
    unobserved = replace(finding("unobserved", "*", "*", severity="info", file=None),
                         message=message)
    lines = text.render(report(unobserved, finding())).splitlines()
    [row] = [line for line in lines if line.lstrip().startswith("unobserved")]
    assert row.split()[:2] == ["unobserved", "info"]
    assert message in row and " on *" not in row
    [excess] = [line for line in lines if line.lstrip().startswith("excess")]
    assert "s3:DeleteObject on arn:aws:s3:::orders-bucket/*" in excess


def test_a_finding_that_rests_on_an_undecided_condition_says_so() -> None:
    from dataclasses import replace

    sure = finding("missing", "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:1:table/a")
    maybe = replace(finding("missing", "dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:1:table/a"),
                    conditional=True)
    lines = text.render(report(sure, maybe)).splitlines()
    [put] = [line for line in lines if "dynamodb:PutItem" in line]
    [get] = [line for line in lines if "dynamodb:GetItem" in line]
    assert "table/a (conditional) [" in put
    assert "(conditional)" not in get
