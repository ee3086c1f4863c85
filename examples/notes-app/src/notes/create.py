"""POST /notes: store a note and, when given, its attachment."""

from __future__ import annotations

import uuid
from typing import Any

from notes.common import attachment_key, body_of, bucket, response, s3, table


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    data = body_of(event)
    user_id = event["requestContext"]["authorizer"]["userId"]
    note_id = str(uuid.uuid4())
    item = {"noteId": note_id, "userId": user_id, "content": data.get("content", "")}
    if data.get("attachment"):
        key = attachment_key(user_id, note_id)
        s3().put_object(Bucket=bucket(), Key=key, Body=data["attachment"].encode())
        item["attachment"] = key
    table().put_item(Item=item)
    return response(201, item)
