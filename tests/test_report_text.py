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
