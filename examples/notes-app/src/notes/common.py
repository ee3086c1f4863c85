"""Helpers shared by the handlers: clients, responses, the attachment key scheme."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3


def table() -> Any:
    return boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def s3() -> Any:
    return boto3.client("s3")


def bucket() -> str:
    return os.environ["BUCKET_NAME"]


def attachment_key(user_id: str, note_id: str) -> str:
    return f"attachments/{user_id}/{note_id}.txt"


def response(status: int, body: object) -> dict[str, Any]:
    return {"statusCode": status, "body": json.dumps(body, default=str)}


def body_of(event: dict[str, Any]) -> dict[str, Any]:
    raw = event.get("body") or "{}"
    data = json.loads(raw) if isinstance(raw, str) else raw
    return data if isinstance(data, dict) else {}
