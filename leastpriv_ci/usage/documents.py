"""Segment documents → decoded dicts, one copy per segment id, and the calls inside them.

Decoding uses orjson; a document nested past orjson's depth limit is decoded again by
ijson, whose C builder is iterative. Walking is iterative too: no nesting depth breaks it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import ijson
import orjson

from leastpriv_ci.notices import Notices
from leastpriv_ci.traces import RawTrace

Doc = dict[str, Any]


class Malformed(ValueError):
    """A segment document that is not a JSON object."""


def decode(raw: str | bytes | Mapping[str, Any]) -> Doc:
    """One segment document as a dict; raises :class:`Malformed`."""
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str | bytes):
        raise Malformed(f"a {type(raw).__name__}, not a JSON document")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth" not in str(exc) and "recursion" not in str(exc).lower():
            raise Malformed(str(exc).splitlines()[0]) from None
        doc = _decode_deep(raw)
    if not isinstance(doc, dict):
        raise Malformed(f"a JSON {type(doc).__name__}, not an object")
    return doc


def _decode_deep(raw: str | bytes) -> Any:
    # ijson's basic events carry no path prefix, so building is linear in the depth.
    data = raw.encode() if isinstance(raw, str) else raw
    containers: list[Any] = []
    keys: list[str | None] = []
    key: str | None = None
    root: Any = None
    try:
        for event, value in ijson.basic_parse(data, use_float=True):
            if event == "map_key":
                key = value
                continue
            if event in ("start_map", "start_array"):
                value = {} if event == "start_map" else []
            elif event in ("end_map", "end_array"):
                value = containers.pop()
                key = keys.pop()
                if containers:
                    continue
                root = value
                continue
            if containers:
                parent = containers[-1]
                if isinstance(parent, dict):
                    parent[key] = value
                else:
                    parent.append(value)
            elif event not in ("start_map", "start_array"):
                root = value
            if event in ("start_map", "start_array"):
                containers.append(value)
                keys.append(key)
    except (ijson.JSONError, ValueError) as exc:
        raise Malformed(str(exc).splitlines()[0] if str(exc) else "invalid JSON") from None
    return root


def is_complete(doc: Mapping[str, Any]) -> bool:
    return doc.get("in_progress") is not True


def documents(trace: RawTrace, notices: Notices) -> dict[str, Doc]:
    """The trace's documents by segment id: inferred ones dropped, one copy per id.

    X-Ray may hold an in-progress copy and a completed copy of one segment: the
    completed one wins, so each call is counted once.
    """
    docs: dict[str, Doc] = {}
    loads = orjson.loads
    for index, raw in enumerate(trace.segments):
        try:
            # the common case inline (this runs for every document); decode() for the rest
            doc = loads(raw) if type(raw) is str else decode(raw)
            if type(doc) is not dict:
                doc = decode(raw)
        except orjson.JSONDecodeError:
            try:
                doc = decode(raw)
            except Malformed as exc:
                notices.add("malformed-segment", "segment document is not valid JSON; skipped",
                            f"{trace.where} segment {index + 1}: {exc}")
                continue
        except Malformed as exc:
            notices.add("malformed-segment", "segment document is not valid JSON; skipped",
                        f"{trace.where} segment {index + 1}: {exc}")
            continue
        segment_id = doc.get("id")
        if not isinstance(segment_id, str) or not segment_id:
            notices.add("segment-missing-id", "segment document has no \"id\"; skipped",
                        f"{trace.where} segment {index + 1}")
            continue
        if doc.get("inferred") is True:
            continue  # X-Ray's view of the downstream service: the caller's subsegment counts
        previous = docs.get(segment_id)
        if previous is None or (not is_complete(previous) and is_complete(doc)):
            docs[segment_id] = doc
    return docs


def is_call(node: Mapping[str, Any]) -> bool:
    aws = node.get("aws")
    return isinstance(aws, dict) and isinstance(aws.get("operation"), str)


def walk(doc: Doc) -> Iterator[Doc]:
    """The document and every nested subsegment, depth-first, without recursion."""
    stack = [doc]
    while stack:
        node = stack.pop()
        yield node
        subsegments = node.get("subsegments")
        if isinstance(subsegments, list):
            stack.extend(s for s in reversed(subsegments) if isinstance(s, dict))
