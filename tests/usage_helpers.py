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


def write_scan_case(folder: Path, trace_id: str, document: dict[str, object],
                    role_arn: str, statements: list[dict[str, object]],
                    boundary: dict[str, object] | None = None) -> None:
    """``traces.json``, one trace of one segment ``document``, and ``role.json``, the role
    (named after its ARN) with ``statements`` as its one inline policy, and ``boundary``
    as its permissions boundary's document if given."""
    segment = {"Id": document.get("id", "a" * 16), "Document": json.dumps(document)}
    (folder / "traces.json").write_text(json.dumps(
        {"Traces": [{"Id": trace_id, "Segments": [segment]}]}))
    role: dict[str, object] = {
        "RoleName": role_arn.rsplit("/", 1)[-1], "Arn": role_arn,
        "Policies": [{"PolicyName": "data", "PolicyDocument": {
            "Version": "2012-10-17", "Statement": statements}}]}
    if boundary is not None:
        role["PermissionsBoundary"] = {"PolicyName": "limit", "PolicyDocument": boundary}
    (folder / "role.json").write_text(json.dumps(role))


def aws_call(call_id: str, name: str, operation: str, **fields: object) -> dict[str, object]:
    """An SDK call's subsegment (us-east-1) with ``fields`` in its ``aws`` object."""
    return {"id": call_id, "name": name, "namespace": "aws", "start_time": 1.7e9,
            "aws": {"operation": operation, "region": "us-east-1", **fields}}


def lambda_document(function_arn: str, *calls: dict[str, object]) -> dict[str, object]:
    """A Lambda function's segment document holding ``calls``."""
    return {"id": "a" * 16, "name": function_arn.rsplit(":", 1)[-1],
            "origin": "AWS::Lambda::Function", "start_time": 1.7e9, "end_time": 1.7e9 + 1,
            "aws": {"function_arn": function_arn}, "subsegments": list(calls)}


def scan_case(capsys: Any, fail_on: str = "excess") -> tuple[int, dict[str, Any], str]:
    """``scan --format json`` of the case :func:`write_scan_case` wrote, with the
    principal map ``map.json`` (run in its folder): exit code, report, standard error."""
    from leastpriv_ci.cli import main

    code = main(["scan", "--traces", "traces.json", "--policy-paths", "role.json",
                 "--principal-map", "map.json", "--fail-on", fail_on, "--format", "json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), str(err)


def scan_folder(folder: Path, monkeypatch: Any, mapping: dict[str, str]) -> Path:
    """``folder`` as the scan's working folder, with ``map.json`` holding ``mapping``."""
    monkeypatch.chdir(folder)
    (folder / "map.json").write_text(json.dumps(mapping))
    return folder
