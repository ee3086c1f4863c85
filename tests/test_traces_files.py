"""Trace files: every accepted shape, streaming, and bad input."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from leastpriv_ci.errors import EXIT_INPUT_ERROR, UserError
from leastpriv_ci.notices import Notices
from leastpriv_ci.traces import RawTrace
from leastpriv_ci.traces import files as trace_files
from leastpriv_ci.traces.files import iter_files
from leastpriv_ci.usage import observe

TRACES = Path(__file__).parent / "data" / "traces"
T1 = "1-5a50dc3f-068780e01b7e3f4148ed0c09"
T2 = "1-5aaf0fa0-b6e00f54192cf79a38419e0f"


def read(*names: str) -> tuple[list[RawTrace], Notices]:
    notices = Notices()
    return list(iter_files([TRACES / name for name in names], notices)), notices


def documents(path: Path) -> list[str]:
    return [segment["Document"] for segment in json.loads(path.read_text())["Segments"]]


def test_single_trace_objects_from_the_real_exports() -> None:
    traces, notices = read("seed-tool-trace1.json", "seed-tool-trace2.json")
    assert [t.trace_id for t in traces] == [T1, T2]
    assert list(traces[0].segments) == documents(TRACES / "seed-tool-trace1.json")
    assert list(traces[1].segments) == documents(TRACES / "seed-tool-trace2.json")
    assert all(isinstance(s, str) for t in traces for s in t.segments)  # not decoded
    assert traces[0].where == f"{TRACES / 'seed-tool-trace1.json'}#1"
    assert len(notices) == 0


def test_batch_get_traces_response() -> None:
    traces, notices = read("batch-get-traces.json")
    assert [t.trace_id for t in traces] == [T1, T2]
    assert [len(t.segments) for t in traces] == [13, 3]
    assert [t.where.rsplit("#", 1)[1] for t in traces] == ["1", "2"]
    assert len(notices) == 0


@pytest.mark.parametrize("indent", [None, 2], ids=["one-line", "pretty"])
def test_array_of_traces(tmp_path: Path, indent: int | None) -> None:
    path = tmp_path / "array.json"
    path.write_text(
        json.dumps(json.loads((TRACES / "array-of-traces.json").read_text()), indent=indent)
    )
    traces = list(iter_files([path], Notices()))
    assert [t.trace_id for t in traces] == [T2, T1]
    assert list(traces[1].segments) == documents(TRACES / "seed-tool-trace1.json")
    assert traces[1].where == f"{path}#2"


@pytest.mark.parametrize("shape", ["response", "trace", "array"])
def test_pretty_printed_values_in_a_row(tmp_path: Path, shape: str) -> None:
    # `aws xray batch-get-traces ... >> traces.json` once per batch: pretty-printed
    # responses one after another
    response = json.loads((TRACES / "batch-get-traces.json").read_text())
    values = {
        "response": [{"Traces": [t], "UnprocessedTraceIds": []} for t in response["Traces"]],
        "trace": response["Traces"],
        "array": [[t] for t in response["Traces"]],
    }[shape]
    path = tmp_path / "appended.json"
    path.write_text("\n".join(json.dumps(value, indent=4) for value in values) + "\n")
    traces = list(iter_files([path], Notices()))
    assert [t.trace_id for t in traces] == [T1, T2]


def test_array_of_raw_segment_documents_groups_by_trace(tmp_path: Path) -> None:
    segments = [json.loads(line) for line in (TRACES / "segments.jsonl").read_text().splitlines()]
    path = tmp_path / "segments.json"
    path.write_text(json.dumps(segments, indent=1))
    traces = list(iter_files([path], Notices()))
    assert [(t.trace_id, len(t.segments)) for t in traces] == [(T1, 13), (T2, 3)]


def test_json_lines_of_traces_name_their_line() -> None:
    traces, _ = read("traces.jsonl")
    assert [t.trace_id for t in traces] == [T1, T2]
    assert [t.where for t in traces] == [f"{TRACES / 'traces.jsonl'}:{n}" for n in (1, 2)]


def test_json_lines_of_responses_with_blank_lines() -> None:
    traces, _ = read("responses.jsonl")
    assert [t.trace_id for t in traces] == [T1, T2]
    assert traces[1].where.endswith("responses.jsonl:3")


def test_json_lines_of_raw_segments_group_consecutive_trace_ids() -> None:
    traces, _ = read("segments.jsonl")
    assert [t.trace_id for t in traces] == [T1, T2]
    assert [len(t.segments) for t in traces] == [13, 3]
    first = traces[0].segments[0]
    assert isinstance(first, dict) and first["trace_id"] == T1
    assert traces[1].where.endswith("segments.jsonl:14")


def test_directory_reads_every_trace_file_sorted(tmp_path: Path) -> None:
    (tmp_path / "b.jsonl").write_bytes((TRACES / "traces.jsonl").read_bytes())
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "c.json").write_bytes((TRACES / "seed-tool-trace2.json").read_bytes())
    (tmp_path / "a.json").write_bytes((TRACES / "seed-tool-trace1.json").read_bytes())
    (tmp_path / "notes.txt").write_text("not a trace")
    traces = list(iter_files([tmp_path], Notices()))
    assert [Path(t.where.split("#")[0].rsplit(":", 1)[0]).name for t in traces] == [
        "a.json",
        "b.jsonl",
        "b.jsonl",
        "c.json",
    ]


def test_a_file_given_again_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_bytes((TRACES / "seed-tool-trace1.json").read_bytes())
    (tmp_path / "b.jsonl").write_bytes((TRACES / "traces.jsonl").read_bytes())
    (tmp_path / "x").mkdir()
    notices = Notices()
    # itself twice, by another spelling, and inside the directory given after it
    paths = [tmp_path / "a.json", tmp_path / "a.json", tmp_path / "x" / ".." / "a.json",
             tmp_path]
    traces = list(iter_files(paths, notices))
    assert [Path(t.where.split("#")[0].rsplit(":", 1)[0]).name for t in traces] == [
        "a.json", "b.jsonl", "b.jsonl"]
    (notice,) = notices.items()
    assert (notice.code, notice.count) == ("trace-file-repeated", 3)
    assert notice.examples == (str(tmp_path / "a.json"), str(tmp_path / "x" / ".." / "a.json"))


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (TRACES / "traces.jsonl").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    traces = list(iter_files([Path("-")], Notices()))
    assert [t.trace_id for t in traces] == [T1, T2]
    assert traces[0].where == "<stdin>:1"


def test_stdin_pretty_printed_document(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (TRACES / "batch-get-traces.json").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert [t.trace_id for t in iter_files([Path("-")], Notices())] == [T1, T2]


def test_a_bad_line_is_skipped_and_counted() -> None:
    traces, notices = read("bad-line.jsonl")
    assert [t.trace_id for t in traces] == [T1, T2]
    (notice,) = notices.items()
    assert notice.code == trace_files.NOTICE_BAD_LINE
    assert notice.count == 1
    assert notice.examples == (f"{TRACES / 'bad-line.jsonl'}:2",)


def test_malformed_traces_and_segment_entries_are_skipped_and_counted() -> None:
    traces, notices = read("malformed-entries.json")
    assert [t.trace_id for t in traces] == ["1-partial", T1]
    assert len(traces[0].segments) == 1
    assert notices.count(trace_files.NOTICE_BAD_TRACE) == 1
    assert notices.count(trace_files.NOTICE_BAD_SEGMENT) == 1


@pytest.mark.parametrize("newline", ["", "\n"], ids=["one-line", "pretty"])
def test_traces_are_yielded_before_the_file_is_read_to_the_end(
    tmp_path: Path, newline: str
) -> None:
    path = tmp_path / "big.json"
    trace = json.loads((TRACES / "seed-tool-trace2.json").read_text())
    with path.open("w") as out:
        out.write('{"Traces": [' + newline)
        out.write(f",{newline}".join(json.dumps(trace) for _ in range(4000)))
        out.write("]}")
    with path.open("rb") as handle:
        stream = trace_files._iter_stream(handle, str(path), False, Notices())
        first = next(stream)
        position = handle.tell()
    assert first.trace_id == T2
    assert path.stat().st_size > 8_000_000
    assert position < 2_000_000  # streamed, not loaded whole


def test_invalid_json_names_file_line_and_byte() -> None:
    with pytest.raises(UserError) as caught:
        read("not-json.json")
    message = str(caught.value)
    assert caught.value.exit_code == EXIT_INPUT_ERROR
    assert "not-json.json" in message
    assert "line 3 (byte 45)" in message
    assert (TRACES / "not-json.json").read_bytes()[45:46] == b"}"


def test_non_utf8_document_names_the_position() -> None:
    with pytest.raises(UserError) as caught:
        read("latin1.json")
    data = (TRACES / "latin1.json").read_bytes()
    offset = data.index(bytes([0xE9]))
    assert f"line 1 (byte {offset})" in str(caught.value)


def test_utf8_encoded_surrogate_names_the_position(tmp_path: Path) -> None:
    # yajl accepts the bytes ED A0 80 (a surrogate encoded as UTF-8); Python refuses them.
    data = b'{"Traces": [{"Id": "1", "Segments": [],\n "k\xed\xa0\x80": 1}]}\n'
    path = tmp_path / "surrogate.json"
    path.write_bytes(data)
    with pytest.raises(UserError) as caught:
        list(iter_files([path], Notices()))
    assert f"line 2 (byte {data.index(bytes([0xED]))})" in str(caught.value)


def test_empty_file_is_an_input_error() -> None:
    with pytest.raises(UserError, match=r"empty\.json: the trace file is empty"):
        read("empty.json")


def test_json_without_traces_is_an_input_error() -> None:
    with pytest.raises(UserError, match=r"config\.json: .*none of the keys Traces"):
        read("config.json")


def test_lines_file_where_no_line_is_json(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_text("hello\nworld\n")
    with pytest.raises(UserError, match=r"junk\.jsonl: no line is JSON \(line 1"):
        list(iter_files([path], Notices()))


def test_missing_file_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"nope\.json: no such trace file"):
        list(iter_files([tmp_path / "nope.json"], Notices()))
    with pytest.raises(UserError, match="holds no"):
        list(iter_files([tmp_path], Notices()))


def test_long_first_line_is_still_json_lines(tmp_path: Path) -> None:
    trace = json.loads((TRACES / "seed-tool-trace1.json").read_text())
    trace["Segments"] = trace["Segments"] * 20  # > one read block on a single line
    line = json.dumps(trace)
    assert len(line) > trace_files.READ_SIZE
    path = tmp_path / "long.json"
    path.write_text(line + "\n" + line + "\n")
    traces = list(iter_files([path], Notices()))
    assert [len(t.segments) for t in traces] == [260, 260]
    assert traces[1].where.endswith("long.json:2")


def test_concatenated_documents_with_a_very_long_first_line(tmp_path: Path) -> None:
    trace = json.loads((TRACES / "seed-tool-trace1.json").read_text())
    trace["Segments"] = trace["Segments"] * 100
    line = json.dumps(trace)
    assert len(line) > trace_files.SNIFF_LIMIT
    path = tmp_path / "huge-lines.json"
    path.write_text(line + "\n" + json.dumps({"Traces": [trace]}) + "\n")
    traces = list(iter_files([path], Notices()))
    assert [len(t.segments) for t in traces] == [1300, 1300]
    assert [t.where.rsplit("#", 1)[1] for t in traces] == ["1", "2"]


def test_a_non_utf8_line_in_json_lines_is_skipped_and_counted(tmp_path: Path) -> None:
    good = (TRACES / "traces.jsonl").read_bytes().splitlines()
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(good[0] + b"\n" + b'{"Id": "caf\xe9", "Segments": []}\n' + good[1] + b"\n")
    notices = Notices()
    traces = list(iter_files([path], notices))
    assert [t.trace_id for t in traces] == [T1, T2]
    assert notices.items()[0].examples == (f"{path}:2",)


@pytest.mark.parametrize("newline", ["", "\n"], ids=["one-line", "pretty"])
def test_nesting_deep_enough_to_exhaust_the_parser_is_an_input_error(
    tmp_path: Path, newline: str
) -> None:
    depth = 200_000  # ijson would need ~100 GB of path strings for this
    path = tmp_path / "deep.json"
    path.write_text(
        '{"Traces": ['
        + newline
        + '{"Id": "1-x", "Segments": [], "junk": '
        + "[" * depth
        + "]" * depth
        + "}]}"
    )
    with pytest.raises(UserError, match=r"deep\.json: JSON nested too deeply near line \d+ \(byte"):
        list(iter_files([path], Notices()))


def test_a_deeply_nested_json_line_is_skipped_and_counted(tmp_path: Path) -> None:
    good = (TRACES / "traces.jsonl").read_text().splitlines()
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join([good[0], "[" * 100_000 + "]" * 100_000, good[1]]) + "\n")
    notices = Notices()
    assert [t.trace_id for t in iter_files([path], notices)] == [T1, T2]
    assert notices.count(trace_files.NOTICE_BAD_LINE) == 1


def test_many_brackets_in_a_read_block_are_not_taken_for_deep_nesting(tmp_path: Path) -> None:
    # Far more openers than the nesting limit within one read block, none of them deep:
    # the block is checked in small pieces and passes.
    trace = json.loads((TRACES / "seed-tool-trace1.json").read_text())
    junk = "[" + ",".join(["[{}]"] * 20_000) + "]"
    assert junk.count("[") > trace_files.MAX_BRACKET_BALANCE
    assert len(junk) > trace_files.READ_SIZE
    path = tmp_path / "dense.json"
    path.write_text('{"junk": ' + junk + ', "Traces": [' + json.dumps(trace) + "]}")
    notices = Notices()
    traces = list(iter_files([path], notices))
    assert [t.trace_id for t in traces] == [T1]
    assert len(notices) == 0


def test_deep_nesting_far_into_a_file_is_an_input_error(tmp_path: Path) -> None:
    trace = json.loads((TRACES / "seed-tool-trace1.json").read_text())
    good = ",\n".join([json.dumps(trace)] * 40)
    assert len(good) > 2 * trace_files.READ_SIZE
    deep = '{"Id": "1-x", "Segments": [], "junk": ' + "[" * 50_000 + "]" * 50_000 + "}"
    path = tmp_path / "deep-late.json"
    path.write_text('{"Traces": [' + good + ",\n" + deep + "]}")
    notices = Notices()
    read_before = []
    with pytest.raises(UserError, match=r"deep-late\.json: JSON nested too deeply near line 41 "):
        read_before.extend(iter_files([path], notices))
    assert len(read_before) == 40


def test_a_bad_escape_in_a_string_is_an_input_error_at_its_byte(tmp_path: Path) -> None:
    path = tmp_path / "escape.json"
    path.write_bytes(b'{"Traces": [{"Id": "1-\\q", "Segments": []}]}\n')
    with pytest.raises(UserError, match=r"escape\.json: not valid JSON at line 1 \(byte 22\)"):
        list(iter_files([path], Notices()))


def test_raw_segment_lines_of_a_trace_apart_name_the_export_not_the_principal(
    tmp_path: Path
) -> None:
    from leastpriv_ci.usage import observe

    function = "arn:aws:lambda:us-east-1:111122223333:function:f"
    segment = {"trace_id": T1, "id": "s1", "name": "f", "origin": "AWS::Lambda::Function",
               "start_time": 1.0, "end_time": 2.0, "aws": {"function_arn": function}}
    other = dict(segment, trace_id=T2, id="s2")
    call = {"trace_id": T1, "id": "c1", "type": "subsegment", "parent_id": "s1",
            "name": "DynamoDB", "namespace": "aws", "start_time": 1.5, "end_time": 1.6,
            "aws": {"operation": "GetItem", "region": "us-east-1", "table_name": "t"}}
    path = tmp_path / "segments.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in (segment, other, call)))
    notices = Notices()
    observation = observe(iter_files([path], notices), notices=notices)
    assert observation.principals[function].accesses == ()  # seen, but its call apart
    assert notices.count("orphan-subsegment") == 1 and notices.count("unattributed") == 0


def test_a_segment_sent_in_progress_then_finished_counts_each_call_once(
    tmp_path: Path
) -> None:
    # What a daemon's stream holds for a long request: the segment sent in progress, other
    # traces' segments, then the finished segment with every call.
    from leastpriv_ci.usage import observe

    function = "arn:aws:lambda:us-east-1:111122223333:function:f"

    def get_item(call_id: str) -> dict[str, object]:
        return {"id": call_id, "name": "DynamoDB", "namespace": "aws", "start_time": 1.5,
                "end_time": 1.6, "aws": {"operation": "GetItem", "table_name": "t"}}

    segment = {"trace_id": T1, "id": "s1", "name": "f", "origin": "AWS::Lambda::Function",
               "start_time": 1.0, "in_progress": True, "aws": {"function_arn": function},
               "subsegments": [get_item("c1")]}
    other = dict(segment, trace_id=T2, id="s2", subsegments=[])
    finished = dict(segment, end_time=3.0, subsegments=[get_item("c1"), get_item("c2")])
    del finished["in_progress"]
    path = tmp_path / "segments.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in (segment, other, finished)))
    notices = Notices()
    observation = observe(iter_files([path], notices), notices=notices)
    (access,) = observation.principals[function].accesses
    assert (access.action, access.count) == ("dynamodb:GetItem", 2)
    assert observation.traces == 2 and observation.principals[function].traces == 2


def test_an_exported_trace_marked_limit_exceeded_is_flagged(tmp_path: Path) -> None:
    export = json.loads((TRACES / "seed-tool-trace1.json").read_text())
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"Traces": [{**export, "LimitExceeded": True}, export]}))
    traces = list(iter_files([path], Notices()))
    assert [t.truncated for t in traces] == [True, False]


def test_a_trace_object_without_an_id_takes_its_documents_trace_id(tmp_path: Path) -> None:
    """So two exports of the same trace, stripped of "Id", still count it once."""
    trace = json.loads((TRACES / "seed-tool-trace1.json").read_text())
    del trace["Id"]
    segments = trace["Segments"]
    # the first document is not JSON, the second a decoded object: the first that names
    # a trace id decides
    trace["Segments"] = [{"Id": "x", "Document": "{not json"},
                         {"Id": "y", "Document": {"id": "y", "name": "n"}}, *segments]
    path = tmp_path / "no-id.json"
    path.write_text(json.dumps([trace, trace]))
    traces = list(iter_files([path], Notices()))
    assert [t.trace_id for t in traces] == [T1, T1]

    once = observe(traces[:1])
    twice = observe(traces)
    assert twice.traces == once.traces == 1
    assert twice.notices.count("duplicate-trace") == 1
    assert any(p.accesses for p in once.principals.values())
    assert [(a.action, a.resource, a.count) for p in twice.principals.values()
            for a in p.accesses] == [(a.action, a.resource, a.count)
                                     for p in once.principals.values() for a in p.accesses]


def test_a_trace_without_any_trace_id_stays_without_one(tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    path.write_text(json.dumps({"Segments": [{"Id": "a", "Document": '{"id": "a"}'},
                                             {"Id": "b", "Document": "[1]"}]}))
    assert [t.trace_id for t in iter_files([path], Notices())] == [None]
