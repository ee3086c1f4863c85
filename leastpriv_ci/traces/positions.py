"""Where a JSON trace file's parse failed, found again in the file itself.

The streaming parse fails somewhere in the piece of bytes it was fed last, and which
piece that is depends on how the file was read (traces decoded in blocks, or ijson
alone). So the place is found the same way whatever read the file:

1. yajl (the parser the file was read with, :data:`BACKEND`) parses the file from its
   start, ``PIECE`` bytes at a time: the piece it fails in.
2. The pure-Python parser, which names offsets, reads the file up to that piece's end,
   and a little further so that a string running past it is whole. Its first error, if
   it lies in that piece, is the place, to the byte.
3. Otherwise (an error only yajl sees, such as an integer past 64 bits, or one the
   Python parser names without its place), yajl parses prefixes of the file that end
   just after a delimiter, and so never inside a token, to find the shortest that fails.
   The error lies in the token that starts after the longest that does not.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Generator
from typing import IO, Any

import ijson
from ijson.backends import python as slow


def _backend() -> Any:
    try:
        return ijson.get_backend("yajl2_c")
    except ImportError:  # a platform without the C extension: same API, slower
        return ijson.get_backend("python")


# The parser trace files are read with (traces.files), whose errors are placed here
BACKEND = _backend()
PIECE = 64 * 1024
BOM = b"\xef\xbb\xbf"
# A prefix ending after one of these bytes ends between tokens or inside a string, where
# the parser finds nothing wrong with the end itself (it reports it cut short)
_DELIMITED = re.compile(rb'[ \t\n\r,:\[\]{}"]')
# How yajl, and the pure-Python parser where yajl is not built, say a text was cut short
_CUT_SHORT = ("premature EOF", "Incomplete JSON content")
# The pure-Python parser's errors for a number, which name the number but not its place
_BAD_NUMBER = re.compile(r"(?:Invalid JSON number|float overflow): (.+)\Z", re.DOTALL)


def error_offset(stream: IO[bytes], limit: int) -> tuple[int, int] | None:
    """The byte (in the file, a BOM included) and the line of the first error yajl meets
    in ``stream``; None when it cannot be read again, or the error lies past ``limit``."""
    if not stream.seekable():
        return None
    stream.seek(0)
    bom = len(BOM) if stream.read(len(BOM)) == BOM else 0
    stream.seek(bom)
    pieces = _Pieces(stream, limit)
    try:
        for _ in BACKEND.basic_parse(pieces, buf_size=PIECE, use_float=True,
                                  multiple_values=True):
            pass
    except (ijson.JSONError, UnicodeDecodeError):
        if pieces.cut:  # the error lies past the limit
            return None
    else:
        return None
    start, end = pieces.last
    stream.seek(bom)
    data = stream.read(end + PIECE)
    offset = _python_error(data)
    if offset is None or not start <= offset <= end:
        offset = _first_failing_token(data, start, end)
    return offset + bom, data[:offset].count(b"\n") + 1


class _Pieces:
    """A stream read from its start, whose last piece handed out is known; it ends early
    (as if the file did) past ``limit`` bytes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.last = (0, 0)
        self.cut = False

    def read(self, size: int = -1) -> bytes:
        start = self.last[1]
        if start > self._limit:
            self.cut = True
            return b""
        data = self._stream.read(size)
        self.last = (start, start + len(data))
        return data


def _fails(data: bytes) -> bool:
    """Whether yajl refuses ``data`` as the beginning of a file (so running out of bytes
    is no error)."""
    try:
        for _ in BACKEND.basic_parse(io.BytesIO(data), use_float=True, multiple_values=True):
            pass
    except ijson.JSONError as error:
        return not any(short in str(error) for short in _CUT_SHORT)
    except UnicodeDecodeError:  # yajl lets UTF-8-encoded surrogates through; Python does not
        return True
    return False


def _first_failing_token(data: bytes, start: int, end: int) -> int:
    """Where the token yajl fails at starts, between ``start`` and ``end``: the last end
    of a prefix yajl accepts, found by bisection among those ending after a delimiter."""
    cuts = [start, *(m.end() for m in _DELIMITED.finditer(data, start, end))]
    good, bad = 0, len(cuts)  # cuts[good] is accepted (``start`` is: the piece before was)
    while bad - good > 1:
        middle = (good + bad) // 2
        if _fails(data[: cuts[middle]]):
            bad = middle
        else:
            good = middle
    return cuts[good]


def _python_error(data: bytes) -> int | None:
    """Where the pure-Python parser meets the first error in ``data`` (a byte offset), or
    None when it meets none it can place."""
    try:
        for _ in ijson.get_backend("python").parse(io.BytesIO(data), multiple_values=True):
            pass
    except slow.UnexpectedSymbol as error:
        return _byte_offset(_text(data), int(str(error).rsplit(" ", 1)[-1]))
    except ijson.JSONError as error:
        # a number it refuses, named without its place; or bad UTF-8 (IncompleteJSONError)
        number = _BAD_NUMBER.match(str(error))
        if number is not None:
            return _lexeme_offset(data, number.group(1))
        return _first_bad_utf8(data)
    except ValueError as error:  # a bad escape or control character: json's string scanner
        return _bad_string(data, error)
    return None


class _Found(Exception):
    """The lexeme looked for (ends the lexer's run)."""


def _lexeme_offset(data: bytes, symbol: str) -> int | None:
    """The byte offset of the first lexeme ``symbol``: the pure-Python parser refuses a
    number at its first sight, so that is where it failed."""
    found: list[int] = []

    def look() -> Generator[None, tuple[int, str | None], None]:
        while True:
            position, lexeme = yield
            if lexeme == symbol:
                found.append(position)
                raise _Found

    target = look()
    next(target)
    lexer = slow.Lexer(target)
    text = _text(data)
    with contextlib.suppress(_Found, StopIteration, ijson.JSONError, ValueError):
        lexer.send(text)
        lexer.send("")
    return _byte_offset(text, found[0]) if found else None


def _text(data: bytes) -> str:
    """The text the pure-Python parser reads (a byte it cannot decode kept as one
    character, so that offsets convert back exactly)."""
    return data.decode("utf-8", "surrogateescape")


def _byte_offset(text: str, characters: int) -> int:
    """The pure-Python parser counts characters of the decoded text: the offset in bytes."""
    return len(text[:characters].encode("utf-8", "surrogateescape"))


def _bad_string(data: bytes, error: ValueError) -> int | None:
    """Where a string the scanner refused goes wrong: its token is the first of that text
    (an earlier copy would have failed first), the error's position is inside it."""
    token = getattr(error, "doc", None)
    inside = getattr(error, "pos", None)
    if not isinstance(token, str) or not isinstance(inside, int):
        return None
    start = data.find(token.encode("utf-8", "surrogatepass"))
    if start < 0:
        return None
    return start + len(token[:inside].encode("utf-8", "surrogatepass"))


def _first_bad_utf8(data: bytes) -> int | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start
    return None
