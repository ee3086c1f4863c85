"""The notes-app's integration tests, as they would run against staging after a deploy.

``run(invoke)`` drives the five handlers through ``invoke(function_key, event)``, which
the staging harness provides (it runs each handler as its Lambda function would, traced
by the X-Ray SDK). Each step checks the response like a real integration test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


def _event(user: str, *, note_id: str | None = None, body: object = None) -> dict[str, Any]:
    event: dict[str, Any] = {"requestContext": {"authorizer": {"userId": user}}}
    if note_id is not None:
        event["pathParameters"] = {"id": note_id}
    if body is not None:
        event["body"] = json.dumps(body)
    return event


class Suite:
    """Runs the steps; a failed check is recorded and the suite goes on, as test runners do."""

    def __init__(self, invoke: Invoke) -> None:
        self.invoke = invoke
        self.calls = 0
        self.failures: list[str] = []

    def call(self, function: str, event: dict[str, Any], status: int) -> dict[str, Any]:
        self.calls += 1
        result = self.invoke(function, event)
        if result.get("statusCode") != status:
            self.failures.append(f"{function}: expected HTTP {status}, got {result}")
            return {}
        body: dict[str, Any] = json.loads(result["body"]) if result.get("body") else {}
        return body

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.failures.append(message)


def run(invoke: Invoke) -> Suite:
    """Run the suite against staging; the result counts calls and lists failed checks."""
    suite = Suite(invoke)
    created = []
    for user, content, attachment in (
        ("alice", "buy milk", None),
        ("alice", "quarterly report", "draft v1"),
        ("bob", "call mum", None),
    ):
        event = _event(user, body={"content": content, "attachment": attachment})
        created.append(suite.call("create", event, 201))
    for note in created:
        if not note:
            continue
        got = suite.call("get", _event(note["userId"], note_id=note["noteId"]), 200)
        suite.check(got.get("content") == note["content"], f"note read back as {got}")
    listed = suite.call("list", _event("alice"), 200)
    suite.check(len(listed) == 2, f"alice should have 2 notes, listed {listed}")
    if created[0]:
        updated = suite.call("update", _event("alice", note_id=created[0]["noteId"],
                                              body={"content": "buy oat milk"}), 200)
        suite.check(updated.get("content") == "buy oat milk", f"update returned {updated}")
    if created[1]:
        suite.call("delete", _event("alice", note_id=created[1]["noteId"]), 204)
    return suite
