"""Segment documents decoded into Node records: the fast decoder and the general one agree."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leastpriv_ci.bundled import load
from leastpriv_ci.notices import Notices
from leastpriv_ci.traces.files import iter_files
from leastpriv_ci.usage import functions, s3
from leastpriv_ci.usage.documents import AS_IS, Aws, Malformed, Node, decode, node_of, walk

USAGE = Path(__file__).parent / "data" / "usage"
SDK_FILES = sorted(p for p in USAGE.glob("*.json") if ".expected" not in p.name
                   and ".principal_map" not in p.name)


def _documents(path: Path) -> list[str]:
    """Every segment document in ``path`` as JSON text (as the X-Ray API returns them)."""
    return [raw if isinstance(raw, str) else json.dumps(raw)
            for trace in iter_files([path], Notices()) for raw in trace.segments]


@pytest.mark.parametrize("path", SDK_FILES, ids=lambda p: p.stem)
def test_the_fast_decoder_builds_what_the_general_one_builds(path: Path) -> None:
    documents = _documents(path)
    assert documents
    for raw in documents:
        general = node_of(orjson.loads(raw))
        assert decode(raw) == general
        # and it holds every field the tool reads, exactly as the JSON had it
        value = orjson.loads(raw)
        for name in AS_IS:
            assert getattr(general, name) == value.get(name)
        aws = value.get("aws")
        if aws is None:
            assert general.aws is None
        else:
            for name in Aws.__struct_fields__:
                assert getattr(general.aws, name) == _as_decoded(aws.get(name))


def _as_decoded(value: object) -> object:
    """An ``aws`` field's JSON value as an :class:`Aws` record holds it: arrays as tuples."""
    return tuple(value) if isinstance(value, list) else value


def _plain(names: list[str]) -> set[str]:
    """The names read from a call's ``aws`` object (dotted ones are OpenTelemetry's)."""
    fields = (name.partition("|")[0] for name in names)  # "FIELD|PARSER"
    return {field for field in fields if "." not in field}


def test_every_field_the_data_and_code_read_is_decoded() -> None:
    read = {"operation", "region", "account_id", "function_arn", "ecs"}
    for types in load("resource_fields.yaml").values():
        for entry in types:
            for names in entry["vars"].values():
                read |= _plain(names)
    services = load("sdk_services.yaml")
    read |= _plain(services["service_fields"])
    read |= _plain([hint["field"] for hint in services["operation_hints"]])
    read |= _plain([*s3.BUCKET_FIELDS, *s3.VERSION_FIELDS, *s3.SOURCE_FIELDS,
                    *functions.QUALIFIER_FIELDS])
    assert "table_names" in read and "queue_url" in read  # the data was read
    assert read - set(Aws.__struct_fields__) == set()


def test_entries_the_walkers_never_read_send_a_document_the_general_way() -> None:
    call = {"id": "c1", "name": "dynamodb", "aws": {"operation": "GetItem"}}
    raw = json.dumps({"id": "s1", "subsegments": ["text", 7, None, call],
                      "aws": ["not", "an", "object"], "http": {"ignored": True}})
    node = decode(raw)
    assert node.aws is None  # no reader reads an aws that is not an object
    assert node.subsegments == [Node(id="c1", name="dynamodb", aws=Aws(operation="GetItem"))]
    assert decode(json.dumps({"id": "s1", "subsegments": {"a": 1}})).subsegments is None


def test_nesting_past_the_fast_decoders_depth_is_built_without_recursion() -> None:
    depth = 100_000
    raw = '{"id":"a","subsegments":[' * depth + '{"id":"z"}' + "]}" * depth
    ids = [node.id for node in walk(decode(raw))]
    assert len(ids) == depth + 1
    assert ids[-1] == "z"


@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "{not json", "7",
                                 '{"id": "a", "name": "lone \ud800 surrogate"}'])
def test_what_is_not_a_json_object_is_malformed(raw: str) -> None:
    with pytest.raises(Malformed):
        decode(raw)


def test_an_already_decoded_document_becomes_a_node() -> None:
    assert decode({"id": "s1", "name": "f", "extra": 1}) == Node(id="s1", name="f")


BASE = json.dumps({
    "id": "s1", "name": "f", "start_time": 1.5,
    "aws": {"operation": "GetItem", "table_name": "t", "n": [1, 2, {"x": None}]},
    "subsegments": [{"id": "c", "name": "dynamodb", "aws": {"operation": "PutItem"},
                     "cause": {"exceptions": [{"message": "m"}]}}],
})
PIECES = [*'{}[]":,\\0123456789eE+-.tfn ', "\ud800", "\x00", "\\ud800", "1e999",
          "123456789012345678901234567890", "NaN", "Infinity"]


@given(st.lists(st.tuples(st.integers(0, len(BASE)), st.sampled_from(["put", "insert", "drop"]),
                          st.sampled_from(PIECES)), min_size=1, max_size=4),
       st.booleans())
@settings(max_examples=300, deadline=None)
def test_a_mangled_document_is_a_node_or_malformed(edits: list[tuple[int, str, str]],
                                                   as_bytes: bool) -> None:
    chars = list(BASE)
    for position, edit, piece in edits:
        position = min(position, len(chars) - 1)
        if edit == "put":
            chars[position] = piece
        elif edit == "insert":
            chars.insert(position, piece)
        else:
            del chars[position]
    text = "".join(chars)
    try:
        node = decode(text.encode("utf-8", "surrogatepass") if as_bytes else text)
    except Malformed:
        return
    assert isinstance(node, Node)
