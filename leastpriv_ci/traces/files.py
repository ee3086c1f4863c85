"""Trace files: X-Ray exports and JSON Lines, read as a stream.

Accepted shapes (detected from the content, not the file name):

- a ``BatchGetTraces`` response ``{"Traces": [{"Id", "Segments": [{"Id", "Document"}]}]}``
  (what ``aws xray batch-get-traces`` prints);
- one trace object ``{"Id", "Duration", "Segments": [...]}``;
- a JSON array of traces (or of ``BatchGetTraces`` responses);
- JSON Lines, one trace object or one ``BatchGetTraces`` response per line;
- JSON Lines of raw segment documents (consecutive lines with the same ``trace_id`` form
  one trace);
- a directory (every ``*.json``/``*.jsonl``/``*.ndjson`` inside, sorted) or ``-`` (stdin).

JSON documents go through ijson (its C backend when built), except a response's
``Traces`` array, which msgspec decodes a block of traces at a time
(:mod:`leastpriv_ci.traces.blocks`); JSON Lines go line by line. A file is never loaded
whole. ``Document`` strings stay text: :mod:`leastpriv_ci.usage`
decodes them.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import ijson
import msgspec
import orjson

from leastpriv_ci.errors import UserError
from leastpriv_ci.notices import Notices
from leastpriv_ci.traces import RawTrace
from leastpriv_ci.traces.blocks import OPENING, Trace, TraceBlocks
from leastpriv_ci.traces.positions import BACKEND, error_offset

STDIN = "-"
# What the bytes after the block-decoded traces are read as: the same response, resumed
_RESUMED = b'{"Traces":['

TRACE_FILE_SUFFIXES = (".json", ".jsonl", ".ndjson")
LINE_SUFFIXES = (".jsonl", ".ndjson")
# A line longer than this is not a trace a collector produced; skip it rather than hold it.
MAX_LINE_BYTES = 64 * 1024 * 1024
# Where an ijson error lies is found exactly in the first this many bytes of a file
# (traces.positions); past it, or in a pipe, the position is the failing block.
EXACT_POSITION_LIMIT = 32 * 1024 * 1024
READ_SIZE = 64 * 1024
# The nesting check below is exact to blocks this small (larger blocks pass when they
# cannot reach the limit).
GUARD_BLOCK = 4 * 1024
# Every byte but brackets and newlines, which are all the nesting check counts.
_NOT_MARKS = bytes(b for b in range(256) if b not in b"[]{}\n")
# Deepest nesting (as counted by _Rejoined) let through to the parser: bounds its memory
# (about 2.5 bytes x depth squared) to tens of MB.
MAX_BRACKET_BALANCE = 4 * 1024
# How far to look for the end of the first line when telling JSON Lines from one document.
SNIFF_LIMIT = 1024 * 1024
SHAPES = (
    'expected an X-Ray export: a BatchGetTraces response {"Traces": [...]}, a trace '
    '{"Id", "Segments"}, a JSON array of traces, or JSON Lines of traces or segment '
    "documents"
)

NOTICE_BAD_LINE = "trace-line-invalid"
NOTICE_BAD_TRACE = "trace-malformed"
NOTICE_BAD_SEGMENT = "segment-entry-malformed"
NOTICE_LONG_LINE = "trace-line-too-long"
NOTICE_REPEATED_FILE = "trace-file-repeated"




def iter_files(paths: Sequence[Path], notices: Notices) -> Iterator[RawTrace]:
    """Yield every trace in ``paths`` (files, directories or ``-`` for stdin), in order.

    A malformed trace, segment entry or line is skipped and counted in ``notices``; a
    missing file, or a file that is not JSON or JSON Lines at all, raises
    :class:`UserError` naming the file and the position.
    """
    read: set[Path] = set()
    for path in paths:
        if str(path) == STDIN:
            yield from _iter_stream(sys.stdin.buffer, "<stdin>", False, notices)
            continue
        for file in _expand(path):
            if (real := file.resolve()) in read:
                notices.add(NOTICE_REPEATED_FILE, "a trace file given more than once (itself or in "
                            "a directory given) was read once", str(file))
                continue
            read.add(real)
            with _open(file) as stream:
                yield from _iter_stream(
                    stream, str(file), file.suffix.lower() in LINE_SUFFIXES, notices
                )


def _expand(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(
            p for p in path.rglob("*") if p.suffix.lower() in TRACE_FILE_SUFFIXES and p.is_file()
        )
        if not found:
            raise UserError(
                "the directory holds no *.json, *.jsonl or *.ndjson trace files", where=str(path)
            )
        return found
    if not path.exists():
        raise UserError(
            "no such trace file or directory; pass an X-Ray export, a directory of them, "
            "or - for stdin",
            where=str(path),
        )
    return [path]


@contextmanager
def _open(file: Path) -> Iterator[IO[bytes]]:
    try:
        stream = file.open("rb")
    except OSError as error:
        raise UserError(f"cannot read the trace file: {error.strerror}", where=str(file)) from None
    with stream:
        yield stream


class _Rejoined:
    """A byte stream whose first bytes were already read (to sniff the shape) put back.

    Counts bytes and newlines handed out so that errors can name a position even on a
    stream that cannot be re-read (stdin), and refuses nesting deep enough to exhaust
    memory: ijson keeps a path string per open level, so memory grows with the square
    of the depth. Each block is checked before the parser sees it: the running count of
    brackets (strings included, so an over-estimate for real traces, whose documents are
    balanced) plus the block's openers bounds the depth the block can reach. Blocks are
    large (one pass of ``bytes.translate`` keeps just the brackets and newlines to count);
    a block with too many openers to pass is handed out in small blocks, each checked,
    so the bound stays as tight as with small blocks throughout.
    """

    def __init__(self, head: bytes, rest: IO[bytes], name: str = "", *,
                 offset: int = 0, lines: int | None = 0, start: int = 0) -> None:
        self._head = head
        self._rest = rest
        self._name = name
        # Where in the file ``head`` starts (resumed after the blocks: not at 0; ``start``
        # when the head begins with bytes put in front of the file's), and the newlines
        # before it: None to count them in the file when a message needs it
        self._start = start
        self.consumed = offset
        self.block_start = offset
        self._lines_before = lines
        self.newlines = 0  # handed out since ``head``
        self.lines_before_block = 0
        # read_unchecked counts newlines only in what cannot be read again
        self._count_unchecked = not rest.seekable()
        self._balance = 0
        self._small_until = 0  # hand out GUARD_BLOCK bytes at a time up to this offset

    def line(self, newlines: int) -> int:
        """The line that follows ``newlines`` of the newlines handed out."""
        if self._lines_before is None:
            self._lines_before = _newlines_before(self._rest, self._start)
        return self._lines_before + newlines + 1

    def read(self, size: int = -1) -> bytes:
        small = self.consumed < self._small_until
        limit = GUARD_BLOCK if small else READ_SIZE
        size = limit if size < 0 else min(size, limit)
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
        else:
            data = self._rest.read(size)
        marks = data.translate(None, _NOT_MARKS)
        opens = marks.count(b"[") + marks.count(b"{")
        if self._balance + opens > MAX_BRACKET_BALANCE and len(data) > GUARD_BLOCK:
            # Maybe too deep: go through this stretch in small blocks, each checked.
            self._small_until = self.consumed + len(data)
            self._head = data[GUARD_BLOCK:] + self._head
            data = data[:GUARD_BLOCK]
            marks = data.translate(None, _NOT_MARKS)
            opens = marks.count(b"[") + marks.count(b"{")
        if self._balance + opens > MAX_BRACKET_BALANCE:
            raise UserError(
                f"JSON nested too deeply near line {self.line(self.newlines)} (byte "
                f"{self.consumed}); trace exports nest a few levels, not thousands",
                where=self._name,
            )
        self._balance += opens - marks.count(b"]") - marks.count(b"}")
        self.block_start = max(self.consumed, self._start)
        self.lines_before_block = self.newlines
        self.consumed += len(data)
        self.newlines += marks.count(b"\n")
        return data

    def read_unchecked(self, size: int) -> bytes:
        """:meth:`read` without the nesting check, for a parser that limits depth itself.
        Newlines are counted only on a stream that cannot be read again (a count costs a
        pass over every byte, and only a message needs it), so read on with
        :meth:`resumed`, which counts them in the file when it must."""
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
        else:
            data = self._rest.read(size)
        self.consumed += len(data)
        if self._count_unchecked:
            self.newlines += data.count(b"\n")
        return data

    def resumed(self, head: bytes, prefix: bytes) -> _Rejoined:
        """A reader of ``prefix``, then ``head`` (the last bytes handed out, put back), then
        the bytes not handed out yet, that names positions as this one would."""
        start = self.consumed - len(head)
        lines = (self.line(self.newlines) - 1 - head.count(b"\n")
                 if self._count_unchecked else None)
        rest = _Rejoined(prefix + head + self._head, self._rest, self._name,
                         offset=start - len(prefix), lines=lines, start=start)
        self._head = b""
        return rest

    def readline(self, limit: int = -1) -> bytes:
        if self._head:
            end = self._head.find(b"\n")
            if end >= 0 and (limit < 0 or end < limit):
                line = self._head[: end + 1]
                self._head = self._head[end + 1 :]
                return line
            take = self._head if limit < 0 else self._head[:limit]
            self._head = self._head[len(take) :]
            if (limit < 0 or len(take) < limit) and not take.endswith(b"\n"):
                more = self._rest.readline(-1 if limit < 0 else limit - len(take))
                take += more
            return take
        return self._rest.readline(limit)


def _iter_stream(
    stream: IO[bytes], name: str, line_mode: bool, notices: Notices
) -> Iterator[RawTrace]:
    head = stream.read(READ_SIZE)
    if head.startswith(b"\xef\xbb\xbf"):  # a BOM some Windows tools write
        head = head[3:]
    while not head.strip() or (b"\n" not in head.lstrip() and len(head) < SNIFF_LIMIT):
        more = stream.read(READ_SIZE)  # a JSON Lines file's first line may be long
        if not more:
            break
        head += more
    if not head.strip():
        raise UserError(f"the trace file is empty; {SHAPES}", where=name)
    reader = _Rejoined(head, stream, name)
    if line_mode or _looks_like_lines(head):
        yield from _iter_lines(reader, name, notices)
    else:
        yield from _iter_document(reader, name, stream, notices, head)


def _looks_like_lines(head: bytes) -> bool:
    """JSON Lines when the first line is a JSON value of its own and more text follows."""
    stripped = head.lstrip()
    end = stripped.find(b"\n")
    if end < 0 or not stripped[end:].strip():
        return False
    try:
        orjson.loads(stripped[:end])
    except orjson.JSONDecodeError:
        return False
    return True


def _iter_lines(reader: _Rejoined, name: str, notices: Notices) -> Iterator[RawTrace]:
    grouper = _Grouper(name, notices)
    good = 0
    first_error: str | None = None
    number = 0
    while True:
        line = reader.readline(MAX_LINE_BYTES + 1)
        if not line:
            break
        number += 1
        where = f"{name}:{number}"
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # drop the rest of the line unread
                line = reader.readline(READ_SIZE)
            notices.add(NOTICE_LONG_LINE, f"a line longer than {MAX_LINE_BYTES} bytes", where)
            continue
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            first_error = first_error or f"line {number}: {error}"
            notices.add(NOTICE_BAD_LINE, "a line that is not JSON was skipped", where)
            continue
        good += 1
        yield from grouper.take(value, where)
    yield from grouper.flush()
    if good == 0 and first_error is not None:
        raise UserError(f"no line is JSON ({first_error}); {SHAPES}", where=name)


def _iter_document(
    reader: _Rejoined, name: str, original: IO[bytes], notices: Notices, head: bytes
) -> Iterator[RawTrace]:
    grouper = _Grouper(name, notices)
    try:
        index = 0
        opening = OPENING.match(head)
        if opening is None:
            prefix = _root_prefix(head)
        else:  # the usual export: as many traces as can be decoded in blocks
            prefix = "Traces.item" if b"\n" in head.lstrip() else None  # as _root_prefix
            index, reader = yield from _read_blocks(reader, opening.end(), grouper, name)
        if prefix is None:
            events = BACKEND.parse(reader, use_float=True, multiple_values=True)
            yield from _walk_document(events, grouper, name, index)
        else:
            # several values in a row: appended `aws xray batch-get-traces` output
            items = BACKEND.items(reader, prefix, use_float=True, multiple_values=True)
            yield from _walk_items(items, prefix, grouper, name, index + 1)
    except (ijson.JSONError, UnicodeDecodeError) as error:
        # yajl lets UTF-8-encoded surrogates through; Python's decoding then refuses them
        raise UserError(
            f"not valid JSON at {_position(reader, original, error)}; {SHAPES}", where=name
        ) from None
    yield from grouper.flush()


def _read_blocks(
    reader: _Rejoined, start: int, grouper: _Grouper, name: str
) -> Generator[RawTrace, None, tuple[int, _Rejoined]]:
    """The traces of the "Traces" array opening at byte ``start``, decoded in blocks;
    returns how many were read and a reader of the rest, which still parses as a response
    whose "Traces" array holds the remaining elements."""
    while start > 0 and (opening := reader.read(start)):  # checked, as ijson's bytes are
        start -= len(opening)
    # msgspec refuses deep nesting itself (RecursionError): no nesting check needed
    blocks = TraceBlocks(reader.read_unchecked)
    index = 0
    for values in blocks:
        trace_of = grouper.record if values and type(values[0]) is Trace else grouper.trace
        for value in values:
            index += 1
            trace = trace_of(value, f"{name}#{index}")
            if trace is not None:
                yield trace
    return index, reader.resumed(blocks.rest, _RESUMED)


def _root_prefix(head: bytes) -> str | None:
    """Where the traces of a one-document file sit, told from its first bytes.

    ``None`` when the head does not tell, or when the first line is so long that the
    file may hold several values in a row: then the general event walk decides.
    """
    if b"\n" not in head.lstrip():
        return None
    try:
        for prefix, event, value in BACKEND.parse(_Rejoined(head, io.BytesIO())):
            if prefix == "" and event == "start_array":
                return "item"
            if prefix == "" and event == "map_key":
                if value == "Traces":
                    return "Traces.item"
                if value in ("Segments", "trace_id"):
                    return ""
            elif prefix == "" and event not in ("start_map", "end_map"):
                return None
    except (ijson.JSONError, UnicodeDecodeError, UserError):  # cut mid-value, not JSON,
        return None  # not UTF-8, or too deep: the full parse names the place
    return None


def _walk_items(
    items: Iterable[Any], prefix: str, grouper: _Grouper, name: str, start: int = 1
) -> Iterator[RawTrace]:
    """The C parser builds each trace (or array element); only the shape check is Python."""
    if prefix == "Traces.item":  # the usual export: no raw segments to group, none pending
        trace_of = grouper.trace
        for index, value in enumerate(items, start=start):
            trace = trace_of(value, f"{name}#{index}")
            if trace is not None:
                yield trace
        return
    for index, value in enumerate(items, start=1):
        where = f"{name}#{index}"
        if prefix == "" and not (
            isinstance(value, dict) and ("Segments" in value or "trace_id" in value)
        ):
            raise UserError(
                f"the JSON object has none of the keys Traces, Segments or trace_id; {SHAPES}",
                where=name,
            )
        else:  # an array element: a trace, a response or a segment document
            yield from grouper.take(value, where)


def _walk_document(
    events: Iterable[tuple[str, str, Any]], grouper: _Grouper, name: str, index: int = 0
) -> Iterator[RawTrace]:
    """Turn parse events into traces, building one array element or trace at a time.

    Several root values in a row are accepted too (JSON Lines whose first line was too
    long to tell them from one document). ``index`` counts the values read before.
    """
    iterator = iter(events)
    seen_root = False
    for _, root_event, _ in iterator:
        seen_root = True
        if root_event == "start_array":
            # Each element is a trace, a BatchGetTraces response or a raw segment document.
            for value in _items(iterator, "item"):
                index += 1
                yield from grouper.take(value, f"{name}#{index}")
        elif root_event == "start_map":
            for trace, root in _root_map(iterator, name):
                index += 1
                if trace is not None:
                    yield from grouper.take_trace(trace, f"{name}#{index}")
                else:
                    yield from grouper.take(root, f"{name}#{index}")
        else:
            raise UserError(f"the trace file holds a bare JSON value; {SHAPES}", where=name)
    if not seen_root:
        raise UserError(f"the trace file holds no JSON value; {SHAPES}", where=name)


def _root_map(
    iterator: Iterator[tuple[str, str, Any]], name: str
) -> Iterator[tuple[object, object]]:
    """A root mapping: a response (its "Traces" streamed one by one) or one trace.

    Yields ``(trace, None)`` per element of "Traces", else ``(None, root)`` once.
    """
    root = ijson.ObjectBuilder()
    root.event("start_map", None)
    saw_traces = False
    for prefix, event, value in iterator:
        if prefix == "" and event == "end_map":
            break
        if prefix == "" and event == "map_key" and value == "Traces":
            continue
        if prefix == "Traces":
            if event == "start_array":
                saw_traces = True
            elif event != "end_array":
                raise UserError(f'"Traces" is not a JSON array; {SHAPES}', where=name)
            continue
        if prefix == "Traces.item":
            yield _build(iterator, event, value), None
            continue
        root.event(event, value)
    if saw_traces:
        return
    document = root.value
    if isinstance(document, dict) and ("Segments" in document or "trace_id" in document):
        yield None, document
        return
    raise UserError(
        f"the JSON object has none of the keys Traces, Segments or trace_id; {SHAPES}",
        where=name,
    )


def _items(iterator: Iterator[tuple[str, str, Any]], item_prefix: str) -> Iterator[Any]:
    for prefix, event, value in iterator:
        if prefix == item_prefix:
            yield _build(iterator, event, value)


def _build(iterator: Iterator[tuple[str, str, Any]], event: str, value: Any) -> Any:
    """Build the value whose first parse event is (event, value), consuming its events."""
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    if event not in ("start_map", "start_array"):
        return builder.value
    depth = 1
    for _, inner_event, inner_value in iterator:
        builder.event(inner_event, inner_value)
        if inner_event in ("start_map", "start_array"):
            depth += 1
        elif inner_event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                break
    return builder.value


def _position(reader: _Rejoined, original: IO[bytes], error: Exception) -> str:
    """Where the parser failed: an exact byte/line when the file can be re-read, else the
    bytes it was reading."""
    exact = error_offset(original, EXACT_POSITION_LIMIT)
    if exact is not None:
        offset, line = exact
        return f"line {line} (byte {offset})"
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (
        f"bytes {reader.block_start}-{reader.consumed} (from line "
        f"{reader.line(reader.lines_before_block)}): {detail}"
    )


def _newlines_before(stream: IO[bytes], upto: int) -> int:
    """Newlines in the first ``upto`` bytes of a file after its BOM, read again."""
    stream.seek(0)
    if stream.read(3) != b"\xef\xbb\xbf":
        stream.seek(0)
    count = 0
    while upto > 0 and (data := stream.read(min(upto, 1024 * 1024))):
        count += data.count(b"\n")
        upto -= len(data)
    return count


class _TraceIdOnly(msgspec.Struct):
    trace_id: Any = None


_TRACE_ID = msgspec.json.Decoder(_TraceIdOnly)


def _trace_id_inside(documents: Iterable[str | bytes | dict[str, object]]) -> str | None:
    """The ``trace_id`` every segment document carries, for a trace object without an
    ``Id``: so that a copy of it is still known as one. The first document that names one
    decides."""
    for document in documents:
        if isinstance(document, dict):
            found: object = document.get("trace_id")
        else:
            try:
                found = _TRACE_ID.decode(document).trace_id
            except (msgspec.DecodeError, RecursionError, UnicodeEncodeError):
                continue  # malformed: observe names it
        if isinstance(found, str) and found:
            return found
    return None


class _Grouper:
    """Turns decoded values into :class:`RawTrace` items, checking their shape.

    Raw segment documents arrive one per value; consecutive ones with the same
    ``trace_id`` are held until the trace id changes, then yielded as one trace.
    """

    def __init__(self, name: str, notices: Notices) -> None:
        self._name = name
        self._notices = notices
        self._trace_id: str | None = None
        self._segments: list[dict[str, object]] = []
        self._where = ""

    def take(self, value: object, where: str) -> Iterator[RawTrace]:
        if isinstance(value, dict) and "Traces" in value:
            yield from self.flush()
            traces = value["Traces"]
            if not isinstance(traces, list):
                self._notices.add(NOTICE_BAD_TRACE, '"Traces" is not a list', where)
                return
            several = len(traces) > 1
            for index, trace in enumerate(traces, start=1):  # nothing pending: flushed above
                found = self.trace(trace, f"{where}/{index}" if several else where)
                if found is not None:
                    yield found
        elif isinstance(value, dict) and "Segments" in value:
            yield from self.take_trace(value, where)
        elif isinstance(value, dict) and isinstance(value.get("trace_id"), str):
            trace_id = value["trace_id"]
            if trace_id != self._trace_id:
                yield from self.flush()
                self._trace_id = trace_id
                self._where = where
            self._segments.append(value)
        else:
            self._notices.add(
                NOTICE_BAD_TRACE,
                "a value that is neither a trace, a BatchGetTraces response nor a segment "
                "document was skipped",
                where,
            )

    def take_trace(self, trace: object, where: str) -> Iterator[RawTrace]:
        yield from self.flush()
        found = self.trace(trace, where)
        if found is not None:
            yield found

    def trace(self, trace: object, where: str) -> RawTrace | None:
        """One trace object (``{"Id", "Segments"}``) as a :class:`RawTrace`, or None
        (counted) when it has no segment list; the caller flushes pending segments first."""
        if not isinstance(trace, dict) or not isinstance(segments := trace.get("Segments"), list):
            self._notices.add(NOTICE_BAD_TRACE, 'a trace without a "Segments" list', where)
            return None
        trace_id = trace.get("Id")
        documents: list[str | bytes | dict[str, object]] = []
        for entry in segments:
            document = entry.get("Document") if isinstance(entry, dict) else None
            if isinstance(document, (str, dict)):
                documents.append(document)
            else:
                self._notices.add(
                    NOTICE_BAD_SEGMENT, 'a segment entry without a "Document" was skipped', where
                )
        if not isinstance(trace_id, str) or not trace_id:
            trace_id = _trace_id_inside(documents)
        return RawTrace(trace_id, tuple(documents), where, trace.get("LimitExceeded") is True)

    def record(self, trace: Trace, where: str) -> RawTrace | None:
        """:meth:`trace` for a trace decoded as a record (its types checked already)."""
        segments = trace.Segments
        if segments is None:
            self._notices.add(NOTICE_BAD_TRACE, 'a trace without a "Segments" list', where)
            return None
        documents = [entry.Document for entry in segments if entry.Document is not None]
        for _ in range(len(segments) - len(documents)):
            self._notices.add(
                NOTICE_BAD_SEGMENT, 'a segment entry without a "Document" was skipped', where
            )
        trace_id = trace.Id
        if not isinstance(trace_id, str) or not trace_id:
            trace_id = _trace_id_inside(documents)
        return RawTrace(trace_id, tuple(documents), where, trace.LimitExceeded is True)

    def flush(self) -> Iterator[RawTrace]:
        if self._segments:
            yield RawTrace(self._trace_id, tuple(self._segments), self._where)
        self._trace_id = None
        self._segments = []
