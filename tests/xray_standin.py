"""A local X-Ray stand-in: GetTraceSummaries, BatchGetTraces and GetGroup over HTTP.

It speaks X-Ray's REST-JSON protocol closely enough for boto3, holds N generated traces,
and throttles like X-Ray (HTTP 429, ``ThrottledException``) once a token bucket of R
requests per second runs dry. Used by the tests (throttling, unprocessed IDs) and by
``bench/bench_fetch.py``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PAGE_SIZE = 100
ROUTES = {
    "/TraceSummaries": "GetTraceSummaries",
    "/Traces": "BatchGetTraces",
    "/GetGroup": "GetGroup",
}


def trace_id(number: int) -> str:
    return f"1-{0x60000000 + number // 1000:08x}-{number:024x}"


def segment_document(number: int) -> str:
    """A small, realistic Lambda segment with one DynamoDB call."""
    return json.dumps(
        {
            "id": f"{number:016x}",
            "trace_id": trace_id(number),
            "name": f"fn-{number % 20}",
            "start_time": 1_700_000_000 + number,
            "end_time": 1_700_000_000.05 + number,
            "origin": "AWS::Lambda::Function",
            "aws": {
                "function_arn": f"arn:aws:lambda:us-east-1:123456789012:function:fn-{number % 20}"
            },
            "subsegments": [
                {
                    "id": f"{number + 1:016x}",
                    "name": "DynamoDB",
                    "namespace": "aws",
                    "start_time": 1_700_000_000.01 + number,
                    "end_time": 1_700_000_000.02 + number,
                    "aws": {"operation": "GetItem", "table_name": f"table-{number % 7}"},
                }
            ],
        },
        separators=(",", ":"),
    )


class TokenBucket:
    """R tokens per second, at most ``burst`` saved up; thread-safe."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


@dataclass
class StandIn:
    """The stand-in's data and its counters (read them after a run)."""

    count: int
    rate: float | None = None
    burst: float = 1.0
    throttle_first: int = 0
    unprocessed_once: frozenset[str] = frozenset()
    groups: dict[str, str] = field(default_factory=dict)
    endpoint_url: str = ""
    calls: Counter[str] = field(default_factory=Counter)
    order: list[str] = field(default_factory=list)  # the operations accepted, in order
    throttled: Counter[str] = field(default_factory=Counter)
    ids_per_call: list[int] = field(default_factory=list)
    _bucket: TokenBucket | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _asked: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.rate is not None:
            self._bucket = TokenBucket(self.rate, self.burst)

    def admit(self, operation: str) -> bool:
        with self._lock:
            if self.throttle_first > 0:
                self.throttle_first -= 1
                self.throttled[operation] += 1
                return False
        if self._bucket is not None and not self._bucket.take():
            with self._lock:
                self.throttled[operation] += 1
            return False
        with self._lock:
            self.calls[operation] += 1
            self.order.append(operation)
        return True

    def summaries(self, body: dict[str, Any]) -> dict[str, Any]:
        start = int(body.get("NextToken") or 0)
        end = min(start + PAGE_SIZE, self.count)
        page: dict[str, Any] = {
            "TraceSummaries": [{"Id": trace_id(n)} for n in range(start, end)],
            "ApproximateTime": time.time(),
            "TracesProcessedCount": end - start,
        }
        if end < self.count:
            page["NextToken"] = str(end)
        return page

    def traces(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        ids = body.get("TraceIds", [])
        if not 1 <= len(ids) <= 5:
            return 400, {"__type": "InvalidRequestException", "message": "1 to 5 TraceIds"}
        self.ids_per_call.append(len(ids))
        found, unprocessed = [], []
        for tid in ids:
            with self._lock:
                first_time = tid not in self._asked
                self._asked.add(tid)
            if tid in self.unprocessed_once and first_time:
                unprocessed.append(tid)
                continue
            number = int(tid.rsplit("-", 1)[1], 16)
            found.append(
                {
                    "Id": tid,
                    "Duration": 0.05,
                    "Segments": [{"Id": f"{number:016x}", "Document": segment_document(number)}],
                }
            )
        return 200, {"Traces": found, "UnprocessedTraceIds": unprocessed}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        operation = ROUTES.get(self.path)
        state = self.server.state
        if operation is None:
            self._send(404, {"__type": "UnknownOperationException", "message": self.path})
        elif not state.admit(operation):
            self._send(429, {"__type": "ThrottledException", "message": "Rate exceeded"})
        elif operation == "GetTraceSummaries":
            self._send(200, state.summaries(body))
        elif operation == "BatchGetTraces":
            self._send(*state.traces(body))
        else:
            name = body.get("GroupName")
            if name not in state.groups:
                self._send(400, {"__type": "InvalidRequestException", "message": "Group not found"})
            else:
                self._send(
                    200, {"Group": {"GroupName": name, "FilterExpression": state.groups[name]}}
                )

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status >= 400:
            self.send_header("x-amzn-ErrorType", str(payload["__type"]))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: StandIn


@contextmanager
def running_standin(state: StandIn) -> Iterator[StandIn]:
    """Serve ``state`` on a free 127.0.0.1 port until the block ends."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = state
    state.endpoint_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
