"""Record Lambda invocations with the real AWS X-Ray SDK, framed as the Lambda runtime does.

The Lambda service writes an ``AWS::Lambda`` segment; the function's own segment has
origin ``AWS::Lambda::Function`` and ``aws.function_arn``; inside Lambda the SDK streams
each SDK subsegment as its own document (``type: subsegment`` with ``parent_id``). The
recorder here reproduces that shape (``streaming_threshold=0``) and keeps the documents
in memory until they are sent to the emulator's X-Ray API with ``PutTraceSegments``.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

MAX_SEGMENTS_PER_PUT = 50  # PutTraceSegments accepts at most 50 documents a call


class MemoryEmitter:
    """An X-Ray SDK emitter that keeps serialized documents instead of sending UDP."""

    def __init__(self) -> None:
        self.documents: list[str] = []

    def send_entity(self, entity: Any) -> None:
        self.documents.append(entity.serialize())

    def set_daemon_address(self, address: str | None) -> None:
        """Part of the emitter interface; nothing to set for memory."""

    @property
    def ip(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return 2000


class LambdaTracer:
    """Configures the process-wide X-Ray recorder and frames invocations as Lambda does."""

    def __init__(self) -> None:
        from aws_xray_sdk.core import patch, xray_recorder

        self.emitter = MemoryEmitter()
        self.recorder = xray_recorder
        xray_recorder.configure(
            emitter=self.emitter,
            sampling=False,
            context_missing="IGNORE_ERROR",
            streaming_threshold=0,
            plugins=(),
        )
        # The SDK warns about calls made outside a segment (setup, PutTraceSegments).
        logging.getLogger("aws_xray_sdk").setLevel(logging.ERROR)
        patch(["botocore"])

    @contextmanager
    def invocation(self, function_arn: str, account: str) -> Iterator[Any]:
        """Trace one invocation of ``function_arn``; yields the function segment."""
        from aws_xray_sdk.core.models.traceid import TraceId

        name = function_arn.split(":")[6]
        trace_id = TraceId().to_id()
        service_segment_id = secrets.token_hex(8)
        started = time.time()
        segment = self.recorder.begin_segment(
            name=name, traceid=trace_id, parent_id=service_segment_id, sampling=1
        )
        segment.origin = "AWS::Lambda::Function"
        segment.set_aws({"function_arn": function_arn, "resource_names": [name],
                         "account_id": account})
        status = 200
        try:
            yield segment
        except Exception as exc:
            segment.add_exception(exc, stack=[])
            status = 500
            raise
        finally:
            self.recorder.end_segment()
            service_segment = {
                "id": service_segment_id,
                "name": name,
                "start_time": started,
                "end_time": time.time(),
                "trace_id": trace_id,
                "origin": "AWS::Lambda",
                "resource_arn": function_arn,
                "http": {"response": {"status": status}},
                "aws": {"request_id": str(uuid.uuid4())},
            }
            self.emitter.documents.append(orjson.dumps(service_segment).decode())

    def flush(self, xray_client: Any) -> int:
        """Send the recorded documents with ``PutTraceSegments``; returns how many."""
        documents, self.emitter.documents = self.emitter.documents, []
        for start in range(0, len(documents), MAX_SEGMENTS_PER_PUT):
            batch = documents[start:start + MAX_SEGMENTS_PER_PUT]
            answer = xray_client.put_trace_segments(TraceSegmentDocuments=batch)
            if answer.get("UnprocessedTraceSegments"):
                raise RuntimeError(f"X-Ray refused segments: {answer['UnprocessedTraceSegments']}")
        return len(documents)
