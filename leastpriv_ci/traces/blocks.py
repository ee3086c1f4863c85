"""The ``Traces`` array of a ``BatchGetTraces`` response, decoded a block of traces at a time.

ijson builds every value through a parser callback per token; msgspec decodes a whole
block of bytes in one call, about twice as fast on X-Ray exports. It cannot stream, so
the array is cut into blocks of whole traces: a cut goes after a ``}`` that is followed
by ``,`` and the ``{"`` of the next element. The text after a cut is not trusted to be a
boundary (a segment entry ends the same way, and a string could hold the bytes): the
block is decoded as ``[`` + block + ``]``, which is valid JSON only when the cut lies
between two elements of the array, since any other cut leaves a string or a bracket open.

What a block cannot be cut or decoded for, such as the last trace, bad JSON or a value
msgspec refuses, stays unread in :attr:`TraceBlocks.rest`: the caller hands it to ijson,
which reports it as before. A block that is not ASCII is checked as UTF-8 first, as yajl
checks every string (msgspec does not check the keys it skips). So this path changes
speed, not what a file means, with one exception: a number yajl cannot convert (an
integer past 64 bits, a float past a double's range), which JSON allows, is skipped in a
block where no field read holds it, and refused by yajl elsewhere. A stream that fails
(a read error) ends the blocks: the traces before the failure are decoded, then its
error is raised.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

# Bytes decoded per block: a few hundred traces, a few MB of decoded values at most.
BLOCK_BYTES = 512 * 1024
# A trace larger than this is left to ijson (X-Ray's own limit is far lower), so that a
# hostile file's block and its decoded copy stay within tens of MB.
MAX_BLOCK_BYTES = 8 * 1024 * 1024
# Where the last cut is looked for first: the block's tail (widened to all of it if none).
TAIL_BYTES = 64 * 1024
# Cuts tried per block before the rest goes to ijson: a wrong one costs a whole decode.
MAX_TRIES = 4

# JSON's whitespace, not Python's \s, which takes in vertical tab and form feed (as yajl
# does, and msgspec does not): the bytes a cut skips are never decoded, so they are only
# ever JSON's own. Where the others are, ijson reads.
_S = rb"[ \t\n\r]*"
# The opening of a response whose first key is "Traces", up to its array's "[".
OPENING = re.compile(_S + rb'\{' + _S + rb'"Traces"' + _S + rb":" + _S + rb"\[")
# After a trace: X-Ray writes "Id" first, and only trace IDs start "1-" (segment IDs are hex).
_TRACE_CUT = re.compile(rb"\}" + _S + rb"," + _S + rb'(?=\{' + _S + rb'"Id"' + _S + rb":"
                        + _S + rb'"1-)')
# After any object followed by an object with a key: a trace's, or a segment entry's.
_OBJECT_CUT = re.compile(rb"\}" + _S + rb"," + _S + rb'(?=\{' + _S + rb'")')


class Entry(msgspec.Struct, gc=False):
    """A segment entry of a trace: its document, as text (or an object, as some tools
    write it); ``None`` when the entry has none."""

    Document: str | dict[str, Any] | None = None


class Trace(msgspec.Struct, gc=False):
    """A trace object as X-Ray writes it (its other fields are not read). Neither record
    can be part of a reference cycle (decoded JSON holds none), so the cyclic collector
    leaves them out (``gc=False``)."""

    Segments: list[Entry] | None = None
    Id: Any = None
    LimitExceeded: Any = None


_TYPED = msgspec.json.Decoder(list[Trace])
_UNTYPED = msgspec.json.Decoder()


class TraceBlocks:
    """Decoded trace values from the bytes ``read`` returns (at most as many as asked,
    none at the end), which start right after the ``[`` of the ``Traces`` array.
    Iterating yields one list per block: of :class:`Trace` records, or, in a block
    holding a value of another type, of plain decoded values. Afterwards, :attr:`rest`
    holds the bytes read but not decoded, starting at an element (or at the array's
    end), and ``read`` returns the others.

    The bytes are held in one buffer with a spare byte in front: a block is decoded in
    place, a ``[`` in that byte and a ``]`` over the byte after its last ``}`` for the
    time of the decode, so no block is copied.
    """

    def __init__(self, read: Callable[[int], bytes], first: bytes = b"") -> None:
        self._read = read
        self._buffer = bytearray(b"[")
        self._buffer += first
        self._ended = False
        self._failure: Exception | None = None

    @property
    def rest(self) -> bytes:
        return bytes(self._buffer[1:])

    def __iter__(self) -> Iterator[list[Trace] | list[Any]]:
        while True:
            self._fill(BLOCK_BYTES)
            values = self._decode_block()
            while values is None and not self._ended and self._held() < MAX_BLOCK_BYTES:
                self._fill(self._held() * 2)  # no cut yet: a large trace
                values = self._decode_block()
            if values is None:
                break
            yield values
        if self._failure is not None:
            raise self._failure

    def _held(self) -> int:
        return len(self._buffer) - 1

    def _fill(self, size: int) -> None:
        buffer = self._buffer
        while (held := len(buffer) - 1) < size and not self._ended:
            try:
                data = self._read(size - held)
            except Exception as error:  # raised once the traces read before it are out
                self._failure = error
                self._ended = True
                break
            if not data:
                self._ended = True
                break
            buffer += data

    def _decode_block(self) -> list[Trace] | list[Any] | None:
        """The whole traces at the head of the buffer, decoded and dropped from it, or
        None when no cut is found or none decodes."""
        buffer = self._buffer
        ascii = buffer.isascii()  # X-Ray's own exports are: a check of UTF-8 is then moot
        for end, after in _cuts(buffer):
            kept = buffer[end]  # the byte after the block's last "}"
            buffer[end] = 0x5D  # "]"
            values: list[Trace] | list[Any]
            try:
                with memoryview(buffer) as view, view[: end + 1] as text:
                    if not ascii:  # msgspec lets bad UTF-8 through in what it skips
                        str(text, "utf-8")
                    try:
                        values = _TYPED.decode(text)
                    except msgspec.ValidationError:  # a value of another type somewhere
                        values = _UNTYPED.decode(text)
            except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
                continue  # not a boundary, or bad JSON inside: ijson will say where
            finally:
                buffer[end] = kept
            del buffer[1:after]
            return values
        return None


def _cuts(buffer: bytearray) -> Iterator[tuple[int, int]]:
    """Candidate cuts, the likeliest first: the last trace boundaries, then the last
    object boundaries of any kind; at most MAX_TRIES, each once. A cut is where its
    block ends (just after its "}") and where the next element starts."""
    tried: set[int] = set()
    for pattern in (_TRACE_CUT, _OBJECT_CUT):
        for cut in reversed(_last_matches(pattern, buffer)):
            if len(tried) == MAX_TRIES:
                return
            if cut[0] not in tried:
                tried.add(cut[0])
                yield cut


def _last_matches(pattern: re.Pattern[bytes], buffer: bytearray) -> list[tuple[int, int]]:
    start = max(1, len(buffer) - TAIL_BYTES)
    found = [(m.start() + 1, m.end()) for m in pattern.finditer(buffer, start)]
    if not found and start > 1:
        found = [(m.start() + 1, m.end()) for m in pattern.finditer(buffer, 1)]
    return found[-MAX_TRIES:]
