"""The JSON report (``scan --format json`` and the report file)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from leastpriv_ci.errors import UserError
from leastpriv_ci.records import Report


def dumps(report: Report, extra: Mapping[str, object] | None = None) -> str:
    """The report as indented JSON text (the DESIGN.md contract, ``schema: 1``).

    ``extra`` adds keys (e.g. ``changes`` against the base commit).
    """
    return json.dumps({**report.to_json(), **(extra or {})}, indent=2, default=str) + "\n"


def write_report(
    report: Report, path: Path, extra: Mapping[str, object] | None = None
) -> None:
    """Write the report atomically, so a crash later never leaves half a file behind."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".leastpriv-", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(dumps(report, extra))
        Path(temporary).replace(path)
    except OSError as exc:
        raise UserError(f"cannot write the report file {path}: {exc.strerror}") from None
