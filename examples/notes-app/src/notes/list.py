"""GET /notes: the caller's notes, through the table's by-user index."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from notes.common import response, table


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    user_id = event["requestContext"]["authorizer"]["userId"]
    result = table().query(IndexName="by-user", KeyConditionExpression=Key("userId").eq(user_id))
    return response(200, result.get("Items", []))
