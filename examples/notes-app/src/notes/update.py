"""PUT /notes/{id}: change a note's content; notify subscribers when a topic is configured."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

from notes.common import body_of, response, table


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    note_id = event["pathParameters"]["id"]
    content = body_of(event).get("content", "")
    result = table().update_item(
        Key={"noteId": note_id},
        UpdateExpression="SET content = :c",
        ExpressionAttributeValues={":c": content},
        ReturnValues="ALL_NEW",
    )
    topic = os.environ.get("TOPIC_ARN")
    if topic:
        message = json.dumps({"noteId": note_id, "event": "updated"})
        boto3.client("sns").publish(TopicArn=topic, Message=message)
    return response(200, result.get("Attributes", {}))
