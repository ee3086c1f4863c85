"""Bad JSON far into a trace file is named at its byte and line, the same whether the
Traces array was read in blocks or by ijson alone, and whichever parser sees the error."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from leastpriv_ci.errors import UserError
from leastpriv_ci.notices import Notices
from leastpriv_ci.traces import files as trace_files
from leastpriv_ci.traces.files import iter_files
from leastpriv_ci.traces.positions import error_offset

TRACES = Path(__file__).parent / "data" / "traces"
MARK = '"Duration": 1.43,'


def large_response(indent: int | None) -> str:
    trace = json.loads((TRACES / "seed-tool-trace1.json").read_text())
    trace["Duration"] = 1.43
    return json.dumps({"Traces": [trace] * 100}, indent=indent).replace(
        '"Duration": 1.43,', MARK)


def message(path: Path) -> str:
    with pytest.raises(UserError) as caught:
        list(iter_files([path], Notices()))
    return str(caught.value)


# (what replaces a trace's Duration field, the text the error is at): errors the
# pure-Python parser places, errors it names without a place (numbers), errors it takes
# for the end of the file (a bare "t"), and errors only yajl sees (64-bit overflow: in
# the last trace, which ijson reads either way, see the test below)
CASES = {
    "unexpected-symbol": ('"Duration": 1.43,]', "]"),
    "leading-zero": ('"Duration": 0123,', "0123"),
    "bare-letter": ('"Duration": t, ', "t,"),
    "overflow": ('"Duration": 123456789012345678901234567890,', "123456789012345678901234567890"),
    "control-character": ('"Duration": "a\x01b",', "\x01"),
    "bad-escape": ('"Duration": "a\\qb",', "\\q"),
}


@pytest.mark.parametrize("indent", [None, 1], ids=["one-line", "pretty"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_an_error_far_into_a_file_is_named_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, indent: int | None
) -> None:
    replacement, at = CASES[case]
    text = large_response(indent)
    marks = [m.start() for m in re.finditer(re.escape(MARK), text)]
    where = marks[99 if case == "overflow" else 70]
    text = text[:where] + replacement + text[where + len(MARK):]
    path = tmp_path / "bad.json"
    path.write_bytes(text.encode())
    byte = text.index(at, where)
    assert byte > 2 * trace_files.READ_SIZE
    line = text[:byte].count("\n") + 1
    found = message(path)
    assert f"not valid JSON at line {line} (byte {byte})" in found
    monkeypatch.setattr(trace_files, "OPENING", re.compile(rb"(?!)"))  # ijson alone
    assert message(path) == found


@pytest.mark.parametrize("number", ["123456789012345678901234567890", "1.1e99943"])
def test_a_number_yajl_cannot_convert_is_skipped_in_a_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, number: str
) -> None:
    # JSON allows it, and no field read holds it: read in a block, the trace counts;
    # yajl refuses it (the documented difference)
    text = large_response(None).replace(MARK, f'"Duration": {number},', 1)
    path = tmp_path / "large-number.json"
    path.write_text(text)
    assert len(list(iter_files([path], Notices()))) == 100
    monkeypatch.setattr(trace_files, "OPENING", re.compile(rb"(?!)"))
    assert f"(byte {text.index(number)})" in message(path)


def test_a_file_that_ends_early_is_named_near_its_end(tmp_path: Path) -> None:
    text = large_response(None)
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2])
    found = re.search(r"byte (\d+)", message(path))
    assert found is not None
    assert len(text) // 2 - 200 <= int(found.group(1)) <= len(text) // 2


def test_no_place_is_named_past_the_limit_or_in_a_pipe() -> None:
    text = large_response(None).encode()
    bad = text.replace(b"1.43", b"1.4.3", 1)
    assert error_offset(io.BytesIO(bad), 1024 * 1024) is not None
    far = text[: len(text) // 2] + text[len(text) // 2:].replace(b"1.43", b"1.4.3", 1)
    assert error_offset(io.BytesIO(far), 64 * 1024) is None  # past the limit
    assert error_offset(io.BytesIO(text), 1024 * 1024) is None  # no error at all

    class Pipe(io.BytesIO):
        def seekable(self) -> bool:
            return False

    assert error_offset(Pipe(bad), 1024 * 1024) is None


def test_bad_utf8_in_a_key_msgspec_skips_is_refused_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # msgspec does not check the UTF-8 of a key it skips; the blocks do, as yajl does
    body = large_response(None).encode()
    where = [m.start() for m in re.finditer(re.escape(MARK.encode()), body)][40]
    body = body[:where] + b'"Dur\xbe": 1.43,' + body[where + len(MARK):]
    path = tmp_path / "latin.json"
    path.write_bytes(body)
    found = message(path)
    assert f"(byte {where + 4})" in found
    monkeypatch.setattr(trace_files, "OPENING", re.compile(rb"(?!)"))
    assert message(path) == found
