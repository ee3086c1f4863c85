"""GET /notes/{id}: one note, with its attachment's text."""

from __future__ import annotations

from typing import Any

from notes.common import bucket, response, s3, table


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    note_id = event["pathParameters"]["id"]
    item = table().get_item(Key={"noteId": note_id}).get("Item")
    if item is None:
        return response(404, {"error": "not found"})
    if item.get("attachment"):
        obj = s3().get_object(Bucket=bucket(), Key=item["attachment"])
        item["attachmentText"] = obj["Body"].read().decode()
    return response(200, item)
