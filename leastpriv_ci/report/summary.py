"""The job summary: the comment's layout with room for every finding (under 1 MiB)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from leastpriv_ci.records import Report
from leastpriv_ci.report import markdown
from leastpriv_ci.report.escape import text

# GITHUB_STEP_SUMMARY drops a step's summary past 1 MiB; keep a margin for other steps' text.
SUMMARY_LIMIT = 1024 * 1024 - 16 * 1024
SUMMARY_LEVELS = (
    markdown.Detail(rows=2_000, roles=500, proposals=True, side_rows=1_000),
    markdown.Detail(rows=500, roles=200, proposals=True, side_rows=200),
    markdown.Detail(rows=100, roles=100, proposals=False, side_rows=50),
    markdown.Detail(rows=0, roles=0, proposals=False, side_rows=0),
)


def render(
    report: Report,
    *,
    link: markdown.LinkFn | None = None,
    locate: Callable[[str], str] | None = None,
    limit: int = SUMMARY_LIMIT,
    changes: Mapping[str, object] | None = None,
    gate: Mapping[str, object] | None = None,
    key: str = "",
) -> str:
    """The job-summary Markdown for ``report``, at most ``limit`` UTF-8 bytes."""
    return markdown.render(
        report, link=link, locate=locate, limit=limit, levels=SUMMARY_LEVELS,
        pointer="the JSON report file", changes=changes, gate=gate, key=key,
    )


SERVICE_FAILURE_ADVICE = (
    "Nothing was verified, so this is not a verdict on the pull request. If the message "
    "names a permission, grant it to the role the action uses (role-to-assume); if AWS "
    "throttled or failed (throttling, HTTP 5xx, a network error), re-run the job."
)


INPUT_ERROR_ADVICE = (
    "Nothing was verified, so this is not a verdict on the pull request. Fix the file, "
    "line or setting the message names, and re-run the job."
)


def render_service_failure(message: str, report_file: str | None = None) -> str:
    """The job summary of a run an AWS call ended (exit 3): what failed, what to do."""
    return render_failure(f"An AWS call failed: {text(message, 2000)}",
                          SERVICE_FAILURE_ADVICE, report_file)


def render_input_error(message: str, report_file: str | None = None) -> str:
    """The job summary of a run its input stopped (exit 2): what is wrong, what to do."""
    return render_failure(f"The scan stopped on its input: {text(message, 2000)}",
                          INPUT_ERROR_ADVICE, report_file)


def render_failure(what: str, advice: str, report_file: str | None) -> str:
    """A job summary of a run that ended before its findings (``what`` is Markdown)."""
    where = (f"\n\nThe JSON report {text(report_file)} records the error."
             if report_file else "")
    return f"### leastpriv-ci: ⚠️ error\n\n{what}\n\n{advice}{where}\n"
