"""DELETE /notes/{id}: remove a note and its attachment."""

from __future__ import annotations

from typing import Any

from notes.common import bucket, response, s3, table


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    note_id = event["pathParameters"]["id"]
    old = table().delete_item(Key={"noteId": note_id}, ReturnValues="ALL_OLD").get("Attributes")
    if old and old.get("attachment"):
        s3().delete_object(Bucket=bucket(), Key=old["attachment"])
    return response(204, {})
