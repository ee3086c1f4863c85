"""A response's "Traces" array decoded in blocks: the same traces, warnings and errors as
ijson alone gives, whatever the bytes between and inside the traces."""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leastpriv_ci.errors import UserError
from leastpriv_ci.notices import Notice, Notices
from leastpriv_ci.traces import RawTrace, blocks
from leastpriv_ci.traces import files as trace_files
from leastpriv_ci.traces.blocks import TraceBlocks
from leastpriv_ci.traces.files import iter_files

TRACES = Path(__file__).parent / "data" / "traces"
NEVER = re.compile(rb"(?!)")


def sample_trace(number: int) -> dict[str, object]:
    trace = json.loads((TRACES / "seed-tool-trace1.json").read_text())
    trace["Id"] = f"1-5a50dc3f-{number:024x}"
    return dict(trace)


def response(traces: list[object], indent: int | None = None) -> str:
    return json.dumps({"Traces": traces, "UnprocessedTraceIds": []}, indent=indent)


def read(path: Path) -> tuple[list[RawTrace], list[Notice]]:
    notices = Notices()
    traces = list(iter_files([path], notices))
    return traces, notices.items()


def read_by_ijson(path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as patched:
        patched.setattr(trace_files, "OPENING", NEVER)  # the head never looks like a response
        try:
            return read(path)
        except UserError as error:
            return str(error)


def read_both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    try:
        by_blocks: object = read(path)
    except UserError as error:
        by_blocks = str(error)
    return by_blocks, read_by_ijson(path, monkeypatch)


def count_blocks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The traces in each block the reader decodes, as it reads."""
    decoded: list[int] = []

    class Counted(TraceBlocks):
        def __iter__(self) -> Iterator[list[Any]]:
            for block in super().__iter__():
                decoded.append(len(block))
                yield block

    monkeypatch.setattr(trace_files, "TraceBlocks", Counted)
    return decoded


@pytest.mark.parametrize("indent", [None, 2], ids=["one-line", "pretty"])
def test_a_large_response_reads_as_with_ijson_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, indent: int | None
) -> None:
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 16 * 1024)  # many blocks, each a few traces
    decoded = count_blocks(monkeypatch)
    path = tmp_path / "response.json"
    path.write_text(response([sample_trace(n) for n in range(300)], indent))
    by_blocks, by_ijson = read_both(path, monkeypatch)
    assert by_blocks == by_ijson
    assert sum(decoded) == 299 and len(decoded) > 10  # all but the last, in many blocks
    traces = by_blocks[0]  # type: ignore[index]
    assert [t.trace_id for t in traces] == [f"1-5a50dc3f-{n:024x}" for n in range(300)]
    assert [t.where for t in traces] == [f"{path}#{n}" for n in range(1, 301)]
    assert [len(t.segments) for t in traces] == [13] * 300


def test_all_traces_but_the_last_are_decoded_in_blocks() -> None:
    body = response([sample_trace(n) for n in range(50)]).encode()
    start = trace_files.OPENING.match(body)
    assert start is not None
    found = TraceBlocks(io.BytesIO(body[start.end():]).read)
    decoded = [trace.Id for block in found for trace in block]
    assert decoded == [f"1-5a50dc3f-{n:024x}" for n in range(49)]
    # the rest starts at the last trace, which no "," follows, and holds the response's end
    last = json.loads(found.rest.rsplit(b"]", 2)[0])
    assert last["Id"] == f"1-5a50dc3f-{49:024x}"
    assert found.rest.endswith(b'"UnprocessedTraceIds": []}')


def test_a_trace_larger_than_a_block_is_decoded_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 1024)
    traces = [sample_trace(n) for n in range(3)]
    body = response(traces).encode()
    assert len(json.dumps(traces[0])) > 8 * 1024
    start = trace_files.OPENING.match(body)
    assert start is not None
    found = TraceBlocks(io.BytesIO(body[start.end():]).read)
    assert [len(block) for block in found] == [1, 1]
    monkeypatch.setattr(blocks, "MAX_BLOCK_BYTES", 4 * 1024)  # past it, all is left to ijson
    found = TraceBlocks(io.BytesIO(body[start.end():]).read)
    assert list(found) == []
    assert found.rest.startswith(b'{"Id": "1-5a50dc3f-0')


# Text that looks like a boundary between traces, or between any two objects
LOOKALIKES = st.sampled_from([
    '}, {"Id": "1-', '},{"Id":"1-', "},\n{", '}, {"', "}]}, {", '\\"}, {\\"Id\\": \\"1-',
    "\\", '"', "{", "}", "[", "]", ",", " ", "é", "\u2028",
])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(LOOKALIKES, max_size=6).map("".join), min_size=1, max_size=12),
       st.sampled_from([None, 1]))
def test_boundaries_inside_strings_are_not_cuts(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str], indent: int | None
) -> None:
    # Trace IDs, segment IDs, keys and documents holding text like a cut between traces:
    # every trace comes out whole, as ijson reads it.
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 2048)
    try:
        traces: list[object] = []
        for number, text in enumerate(texts):
            trace = sample_trace(number)
            trace["Id"] = "1-" + text
            trace["Segments"] = [{"Id": text, "Document": text + "{}", text: [text]}]
            trace[text or "empty"] = {"Id": "1-" + text}
            traces.append(trace)
        path = tmp_path_factory.mktemp("lookalikes") / "response.json"
        path.write_text(response(traces, indent))
        by_blocks, by_ijson = read_both(path, monkeypatch)
        assert by_blocks == by_ijson
        assert [t.trace_id for t in by_blocks[0]] == [  # type: ignore[index]
            "1-" + text for text in texts]
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("block_bytes", [3000, 9000, 20_000])
def test_cuts_that_are_not_boundaries_are_tried_and_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    # Each trace ends with a list of objects shaped like traces ({"Id": "1-…"}), and a
    # document ending in "}, {": the likeliest cuts in a block are inside a trace, and
    # decoding there fails. The bytes put over the cut for the decode are put back.
    monkeypatch.setattr(blocks, "BLOCK_BYTES", block_bytes)
    traces: list[object] = []
    for number in range(80):
        trace = sample_trace(number)
        segments = trace["Segments"]
        assert isinstance(segments, list)
        segments.append({"Id": "x", "Document": '{"id": "x"}, {'})
        trace["Links"] = [{"Id": f"1-link-{number}-{n}"} for n in range(3)]
        traces.append(trace)
    text = response(traces)
    path = tmp_path / "links.json"
    path.write_text(text)
    assert text.count('}, {"Id": "1-link') == 160
    decoded = count_blocks(monkeypatch)
    by_blocks, by_ijson = read_both(path, monkeypatch)
    assert by_blocks == by_ijson
    found = by_blocks[0]  # type: ignore[index]
    assert [t.trace_id for t in found] == [f"1-5a50dc3f-{n:024x}" for n in range(80)]
    assert all(t.segments[-1] == '{"id": "x"}, {' for t in found)
    assert sum(decoded) > 40  # most of them in blocks, despite the cuts tried first


def test_bad_json_far_into_a_response_is_named_at_its_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 16 * 1024)
    good = response([sample_trace(n) for n in range(100)], indent=1)
    text = good.replace(f'"1-5a50dc3f-{70:024x}"', '"1-\\q"')
    path = tmp_path / "bad.json"
    path.write_text(text)
    byte = text.index("\\q")
    line = text[:byte].count("\n") + 1
    seen: list[RawTrace] = []
    expected = rf"not valid JSON at line {line} \(byte {byte}\)"
    with pytest.raises(UserError, match=expected) as caught:
        seen.extend(iter_files([path], Notices()))
    assert len(seen) >= 60  # the traces before were read as the file streamed
    assert read_by_ijson(path, monkeypatch) == str(caught.value)


def test_odd_values_read_as_with_ijson_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 16 * 1024)
    traces: list[object] = [sample_trace(n) for n in range(60)]
    document = sample_trace(0)["Segments"][0]["Document"]  # type: ignore[index]
    traces[10] = {**sample_trace(10), "Note": "\ud800"}  # msgspec refuses it, ijson reads "?"
    traces[20] = {"Id": "1-no-segments"}
    traces[25] = {"Id": "1-no-documents", "Segments": [{"Id": "a"}, {"Document": None}]}
    traces[30] = {"Id": "1-a-number", "Segments": [5, {"Document": document}]}
    traces[40] = {"Id": "1-text", "Segments": "none"}
    traces[50] = {"Segments": [{"Document": document}], "LimitExceeded": True}
    path = tmp_path / "odd.json"
    path.write_text(response(traces))
    assert "\\ud800" in path.read_text()
    by_blocks, by_ijson = read_both(path, monkeypatch)
    assert by_blocks == by_ijson
    found, notices = by_blocks  # type: ignore[misc]
    assert len(found) == 58
    assert [(n.code, n.count, n.examples) for n in notices] == [
        (trace_files.NOTICE_BAD_TRACE, 2, (f"{path}#21", f"{path}#41")),
        (trace_files.NOTICE_BAD_SEGMENT, 3, (f"{path}#26", f"{path}#31")),
    ]
    no_documents, a_number, cut_short = (found[n] for n in (24, 29, 48))  # 20, 40 left out
    assert no_documents.segments == () and a_number.segments == (document,)
    assert cut_short.truncated and cut_short.trace_id == json.loads(document)["trace_id"]


def test_appended_responses_read_as_with_ijson_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "appended.json"
    first = response([sample_trace(n) for n in range(30)], indent=2)
    path.write_text(first + "\n" + response([sample_trace(n) for n in range(30, 45)]))
    by_blocks, by_ijson = read_both(path, monkeypatch)
    assert by_blocks == by_ijson
    assert len(by_blocks[0]) == 45  # type: ignore[index]


class Pipe(io.RawIOBase):
    """Bytes that cannot be read again, as from a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._data.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@pytest.mark.parametrize("piped", [False, True], ids=["file", "pipe"])
def test_positions_after_the_blocks_count_every_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piped: bool
) -> None:
    # Lines are counted in the file again when a message needs them, or as read from a
    # pipe; either way the message names the line of the file.
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 16 * 1024)
    traces: list[object] = [sample_trace(n) for n in range(100)]
    traces.insert(60, "DEEP")
    deep = '{"Id": "1-x", "Segments": [], "junk": ' + "[" * 50_000 + "]" * 50_000 + "}"
    text = "\ufeff" + response(traces, indent=1).replace('"DEEP"', deep)
    text = text.replace('"UnprocessedTraceIds"', '"Unprocessed": [1, 2,, 3], "UnprocessedTraceIds"')
    deep_line = text[: text.index('"1-x"')].count("\n") + 1
    bad_line = text[: text.index(",, 3")].count("\n") + 1
    path = tmp_path / "late.json"
    path.write_text(text)
    if piped:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(Pipe(
            text.encode()))))
        path = Path("-")
    assert not io.BufferedReader(Pipe(b"")).seekable()
    with pytest.raises(UserError, match=rf"nested too deeply near line {deep_line} "):
        list(iter_files([path], Notices()))
    # the same file without the deep trace: bad JSON after the blocks, past where the
    # exact position is found by reading the file again
    text = text.replace(deep, "{}")
    monkeypatch.setattr(trace_files, "EXACT_POSITION_LIMIT", 0)
    if piped:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(Pipe(
            text.encode()))))
    else:
        path.write_text(text)
    with pytest.raises(UserError) as caught:
        list(iter_files([path], Notices()))
    found = re.search(r"not valid JSON at bytes (\d+)-(\d+) \(from line (\d+)\)", str(caught.value))
    assert found is not None
    start, end, line = (int(n) for n in found.groups())
    body = text.encode()[3:]  # after the BOM
    assert start < body.index(b",, 3") + 1 <= end
    assert line == body[:start].count(b"\n") + 1 <= bad_line


@pytest.mark.parametrize("where", ["opening", "between traces", "between segments"])
@pytest.mark.parametrize("space", ["\x0b", "\x0c"])
def test_whitespace_only_yajl_takes_reads_as_with_ijson_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, space: str
) -> None:
    # Vertical tab and form feed: not JSON whitespace, but yajl takes them for it (and
    # Python's \s does); msgspec does not. The blocks leave such bytes to ijson.
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 16 * 1024)
    text = response([sample_trace(n) for n in range(40)], indent=1)
    if where == "opening":
        text = text.replace('"Traces"', space + '"Traces"', 1)
    elif where == "between traces":
        text = text.replace("},\n  {", "}," + space + "\n  {", 20)
    else:
        text = text.replace("},\n    {", "}," + space + "\n    {", 20)
    assert space in text
    path = tmp_path / "spaces.json"
    path.write_text(text)
    by_blocks, by_ijson = read_both(path, monkeypatch)
    assert by_blocks == by_ijson
    assert len(by_blocks[0]) == 40  # type: ignore[index]
