"""The JSON report (``scan --format json`` and the report file)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from leastpriv_ci.records import Report
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
