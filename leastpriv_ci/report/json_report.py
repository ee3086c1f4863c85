"""The JSON report (``scan --format json`` and the report file)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from leastpriv_ci.records import Analysis, Report, Verdict
from leastpriv_ci.report.files import write_atomically


def dumps(report: Report, extra: Mapping[str, object] | None = None) -> str:
    """The report as indented JSON text (the DESIGN.md contract, ``schema: 1``).

    ``extra`` adds keys (e.g. ``changes`` against the base commit).
    """
    return json.dumps({**report.to_json(), **(extra or {})}, indent=2, default=str) + "\n"


def write_report(
    report: Report, path: Path, extra: Mapping[str, object] | None = None
) -> None:
    """Write the report atomically, never through a link the checkout holds."""
    write_atomically(path, dumps(report, extra), what="the report file",
                     remedy="set report-file (--report-file) to another path")


def write_error_report(path: Path, message: str, *, exit_code: int, advice: str) -> None:
    """A report of a run that failed before its findings (its input, exit 2; an AWS call,
    exit 3).

    The usual shape with nothing in it: ``verdict`` ``"error"``, the message and
    ``advice`` as its reasons, empty ``counts`` and ``findings``, and an ``error`` key
    {``exit_code``, ``message``}.
    """
    empty = Report(Analysis(findings=(), proposals={}),
                   Verdict(passed=False, reasons=(message, advice)))
    write_report(empty, path, {"verdict": "error",
                               "error": {"exit_code": exit_code, "message": message}})
