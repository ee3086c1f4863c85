"""Segment documents → :class:`Node` records, one copy per segment id, and the calls inside.

A document is decoded by msgspec straight into :class:`Node` (and its ``aws`` object
into :class:`Aws`): only the fields the tool reads are built, the rest (HTTP details,
SDK versions, ids of the request) is skipped while parsing, so a trace costs less than
decoding it whole. A document msgspec will not decode as such (an ``aws`` or
``subsegments`` entry that is not an object, nesting past its depth limit, JSON it
refuses) is decoded by orjson, or by ijson's iterative C parser when it is
nested too deep for orjson, and converted without recursion, leaving out what the fast
path would not accept either. Walking is iterative too: no nesting depth breaks it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import ijson
import msgspec
import orjson

from leastpriv_ci.notices import Notices
from leastpriv_ci.traces import RawTrace

if TYPE_CHECKING:
    Value = Any  # readers check a value's type where they use it
else:
    # Any JSON value, with an array as a tuple: a list of names (the SDKs' ``table_names``)
    # leaves a record hashable. Deeper arrays stay lists.
    Value = None | bool | int | float | str | tuple[Any, ...] | dict[str, Any]


class Aws(msgspec.Struct, frozen=True, gc=False, cache_hash=True):
    """A segment's or subsegment's ``aws`` object: the fields the tool reads, each as the
    JSON had it (any JSON value, an array as a tuple; ``None`` when absent).

    Frozen, so hashable: a call's fields are part of the key its interpretation is
    remembered by, and hashing a record is one step in C, taken once per record (a new
    call's shape is looked up in several caches). An object value (``ecs``,
    ``copy_source``), or an array holding one, leaves it unhashable, and readers allow
    for it.

    The fields are the plain names the data files read (``resource_fields.yaml``,
    ``sdk_services.yaml``) and those the code reads; ``tests/test_usage_documents.py``
    checks that no name is missing.
    """

    # every call; principals (Lambda segments, ADOT's ECS tasks)
    operation: Value = None
    region: Value = None
    account_id: Value = None
    function_arn: Value = None
    ecs: Value = None
    # resources and services, as the X-Ray SDKs record them
    table_name: Value = None
    table_names: Value = None
    index_name: Value = None
    stream_arn: Value = None
    resource_names: Value = None
    bucket_name: Value = None
    bucket: Value = None
    key: Value = None
    version_id: Value = None
    copy_source: Value = None
    queue_url: Value = None
    queue_name: Value = None
    topic_arn: Value = None
    target_arn: Value = None
    function_name: Value = None
    qualifier: Value = None
    stream_name: Value = None
    delivery_stream_name: Value = None
    secret_id: Value = None
    secret_arn: Value = None
    name: Value = None
    parameter_name: Value = None
    path: Value = None
    key_id: Value = None
    event_bus_name: Value = None
    state_machine_arn: Value = None
    execution_arn: Value = None
    role_arn: Value = None
    identity: Value = None
    source: Value = None
    from_email_address: Value = None
    endpoint_name: Value = None
    service: Value = None


EMPTY_AWS = Aws()


class Node(msgspec.Struct, gc=False):
    """A segment or subsegment: the fields the tool reads, each as the JSON had it.

    Every field but ``aws`` and ``subsegments`` may hold any JSON value (or ``None`` when
    absent): the readers check their types, as hostile traces may hold anything. Nodes
    are left out of the cyclic garbage collector (``gc=False``): decoded JSON holds no
    cycles.
    """

    id: Any = None
    name: Any = None
    type: Any = None
    origin: Any = None
    parent_id: Any = None
    resource_arn: Any = None
    start_time: Any = None
    end_time: Any = None
    in_progress: Any = None
    inferred: Any = None
    aws: Aws | None = None
    cause: Any = None
    metadata: Any = None
    annotations: Any = None
    subsegments: list[Node] | None = None


# The fields node_of copies as the JSON has them (``aws`` and ``subsegments`` are built)
AS_IS = tuple(f for f in Node.__struct_fields__ if f not in ("aws", "subsegments"))
_DECODER = msgspec.json.Decoder(Node)
MAX_REPORTED = 10_000  # bad documents remembered, so that a copy of one is not warned again
# What the fast path cannot decode: the reason is found again by the general decoders.
# (UnicodeEncodeError: text with a lone surrogate, which an escape in the export can
# put into a Document string.)
_NOT_A_NODE = (msgspec.DecodeError, msgspec.ValidationError, RecursionError,
               UnicodeEncodeError)
# What JSON calls a decoded value that is not an object, for the warning
_KINDS = {type(None): "null", bool: "boolean", int: "number", float: "number", str: "string",
          list: "array", tuple: "array"}


class Malformed(ValueError):
    """A segment document that is not a JSON object."""


def decode(raw: str | bytes | Mapping[str, Any]) -> Node:
    """One segment document as a :class:`Node`; raises :class:`Malformed`."""
    if isinstance(raw, str | bytes):
        try:
            return _DECODER.decode(raw)
        except _NOT_A_NODE:
            return _decode_refused(raw)
    return _node(raw)


def _decode_refused(raw: str | bytes) -> Node:
    """A document the fast decoder refused, the general way; raises :class:`Malformed`."""
    return _node(_decode_general(raw))


def _node(value: object) -> Node:
    if not isinstance(value, dict):
        raise Malformed(f"a JSON {_KINDS.get(type(value), 'value')}, not an object")
    return node_of(value)


def _decode_general(raw: str | bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth" not in str(exc) and "recursion" not in str(exc).lower():
            raise Malformed(str(exc).splitlines()[0]) from None
        return _decode_deep(raw)


def node_of(value: Mapping[str, Any]) -> Node:
    """A decoded document as a :class:`Node`, built without recursion.

    An ``aws`` value that is not an object is dropped, and so are a ``subsegments`` value
    that is not a list and its entries that are not objects: no reader looked at them.
    """
    root = Node()
    pending: list[tuple[Mapping[str, Any], Node]] = [(value, root)]
    while pending:
        source, node = pending.pop()
        for name in AS_IS:
            found = source.get(name)
            if found is not None:
                setattr(node, name, found)
        aws = source.get("aws")
        node.aws = msgspec.convert(aws, Aws) if type(aws) is dict else None
        children = source.get("subsegments")
        if type(children) is list:
            built = [(child, Node()) for child in children if type(child) is dict]
            node.subsegments = [child for _, child in built]
            pending.extend(built)
    return root


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


def is_complete(node: Node) -> bool:
    return node.in_progress is not True


def documents(trace: RawTrace, notices: Notices,
              reported: set[int] | None = None) -> dict[str, Node]:
    """The trace's documents by segment id: inferred ones dropped, one copy per id.

    X-Ray may hold an in-progress copy and a completed copy of one segment: the
    completed one wins, so each call is counted once. A document skipped as bad is
    warned about once: with ``reported`` (kept across traces), not again when a copy of
    its trace is read.
    """
    docs: dict[str, Node] = {}
    fast = _DECODER.decode
    for index, raw in enumerate(trace.segments):
        try:
            if type(raw) is str:  # the common case inline: this runs for every document
                try:
                    doc = fast(raw)
                except _NOT_A_NODE:
                    doc = _decode_refused(raw)
            else:
                doc = decode(raw)
        except Malformed as exc:
            if _first_report(reported, trace, raw):
                notices.add("malformed-segment", "segment document is not a JSON object; skipped",
                            f"{trace.where} segment {index + 1}: {exc}")
            continue
        segment_id = doc.id
        if type(segment_id) is not str or not segment_id:
            if _first_report(reported, trace, raw):
                notices.add("segment-missing-id", "segment document has no \"id\"; skipped",
                            f"{trace.where} segment {index + 1}")
            continue
        if doc.inferred is True:
            continue  # X-Ray's view of the downstream service: the caller's subsegment counts
        previous = docs.get(segment_id)
        if previous is None or (not is_complete(previous) and is_complete(doc)):
            docs[segment_id] = doc
    return docs


def _first_report(reported: set[int] | None, trace: RawTrace, raw: object) -> bool:
    """Whether a bad document is warned about: not when a copy of it, in a trace of the
    same id, was (documents as text only; at most :data:`MAX_REPORTED` remembered)."""
    if reported is None or trace.trace_id is None or type(raw) is not str:
        return True
    key = hash((trace.trace_id, raw))
    if key in reported:
        return False
    if len(reported) < MAX_REPORTED:
        reported.add(key)
    return True


def walk(doc: Node) -> Iterator[Node]:
    """The document and every nested subsegment, depth-first, without recursion."""
    stack = [doc]
    while stack:
        node = stack.pop()
        yield node
        if node.subsegments:
            stack.extend(reversed(node.subsegments))
