"""Helpers shared by the usage tests: traces from fixture files, accesses as plain tuples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from leastpriv_ci.records import Observation
from leastpriv_ci.traces import RawTrace

USAGE = Path(__file__).parent / "data" / "usage"


def raw_traces(path: Path) -> list[RawTrace]:
    """A fixture: {"Traces": [{"Id", "Segments": [{"Id", "Document"}]}]} or one trace.

    A ``Document`` may be written as an object for readability; it is re-encoded as
    the JSON text X-Ray returns.
    """
    data = json.loads(path.read_text())
    traces = data.get("Traces", [data])
    result = []
    for index, trace in enumerate(traces):
        docs = tuple(
            s["Document"] if isinstance(s["Document"], str) else json.dumps(s["Document"])
            for s in trace["Segments"]
        )
        result.append(RawTrace(trace.get("Id"), docs, f"{path.name}#{index + 1}"))
    return result


def accesses(observation: Observation) -> dict[str, set[tuple[Any, ...]]]:
    """principal → {(action, resource, count, denied, resource_known)}."""
    return {
        arn: {(a.action, a.resource, a.count, a.denied, a.resource_known) for a in usage.accesses}
        for arn, usage in observation.principals.items()
    }


def expected(path: Path) -> dict[str, set[tuple[Any, ...]]]:
    """A hand-written answer: principal → [[action, resource, count, denied, known], ...]."""
    data = json.loads(path.read_text())
    return {arn: {tuple(row) for row in rows} for arn, rows in data["principals"].items()}


def refused(call: dict[str, object], code: str, action: str, resource: str,
            caller: str) -> dict[str, object]:
    """``call`` failed with IAM's refusal of ``action`` on ``resource`` for ``caller``."""
    message = (f"User: {caller} is not authorized to perform: {action} on resource: "
               f"{resource} because no identity-based policy allows the {action} action")
    return dict(call, cause={"exceptions": [{"type": code, "message": message}]})
