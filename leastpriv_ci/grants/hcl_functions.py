"""Terraform's built-in functions and operators, on the values the offline evaluator knows.

Each answers Terraform's value, or an :class:`Unknown` when that value is not known
offline (an argument is not) or the call is outside what is evaluated here (a regular
expression, a number past :data:`MAX_NUMBER`). An :class:`Absent` answer is a call that
Terraform refuses (``lookup`` of a missing key without a default), which ``try`` and
``can`` catch. ``try``, ``can``, ``&&`` and ``||`` see their operands before they are
evaluated, so they live in the evaluator.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from leastpriv_ci.grants.hcl_values import (
    MAX_STRING,
    Absent,
    SetValue,
    Unknown,
    flatten,
    known_keys,
    listed,
    plain,
    scalar,
    set_of,
)

UNDECIDED = Unknown("")  # the evaluator puts the call's own text in its place
MAX_NUMBER = 10**15  # numbers past it (a hostile count, a product of products) are not
MAX_DIGITS = 18  # digits of a number literal read as a number
MAX_PATTERN_TEXT = 4096  # characters of the text it is evaluated on

Function = Callable[[list[Any]], Any]


def number_literal(text: str) -> int | Unknown:
    """An integer literal; a longer one than any count or port is not read (Python refuses
    to convert more than 4,300 digits, and a pull request may write a million)."""
    return int(text) if len(text) <= MAX_DIGITS else UNDECIDED


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and abs(value) <= MAX_NUMBER


def _whole(value: float) -> int | float:
    """Terraform has one number type: 4 / 2 is the count 2."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _equal(left: Any, right: Any) -> bool | Unknown:
    known = (plain(left) or left is None) and (plain(right) or right is None)
    if not known:
        return UNDECIDED
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            _equal(a, b) is True for a, b in zip(left, right, strict=True))
    if isinstance(left, bool) != isinstance(right, bool) \
            or isinstance(left, list) != isinstance(right, list):
        return False  # true == 1 is false in Terraform, unlike Python
    return bool(left == right)


_ARITHMETIC: Mapping[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul,
    "/": operator.truediv, "%": operator.mod,
    "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}


def binary(symbol: str, left: Any, right: Any) -> Any:
    """``left SYMBOL right`` for the comparison and arithmetic operators (``&&`` and ``||``
    on known bools too)."""
    if symbol in ("==", "!="):
        equal = _equal(left, right)
        return equal if isinstance(equal, Unknown) else equal == (symbol == "==")
    if symbol in ("&&", "||"):
        if isinstance(left, bool) and isinstance(right, bool):
            return (left and right) if symbol == "&&" else (left or right)
        return UNDECIDED
    calculate = _ARITHMETIC.get(symbol)
    if calculate is None or not (_number(left) and _number(right)):
        return UNDECIDED
    if symbol in ("/", "%") and right == 0:
        return Absent(symbol)  # Terraform fails on a division by zero
    if symbol == "%" and (left < 0 or right < 0):
        return UNDECIDED  # Go's remainder keeps the dividend's sign, Python's the divisor's
    result = calculate(left, right)
    return result if isinstance(result, bool) else _whole(result)


def unary(symbol: str, value: Any) -> Any:
    """``!value`` or ``-value``."""
    if symbol == "!" and isinstance(value, bool):
        return not value
    if symbol == "-" and _number(value):
        return -value
    return UNDECIDED


# -- format -------------------------------------------------------------------------------

_VERB = re.compile(r"%(?:%|([-+ #0]*)(\d*)(?:\.(\d*))?([a-zA-Z]))")


def _format(values: list[Any]) -> str:
    """``format(spec, values...)`` with Terraform's verbs (``%v``, ``%s``, ``%d``, ``%q``,
    ``%t``, ``%f``, …); explicit argument indexes (``%[2]s``) are not read."""
    spec, arguments = str(values[0]), iter(values[1:])
    size = [len(spec)]

    def verb(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        flags, width, precision, letter = match.groups()
        if len(width) > 5 or len(precision or "") > 5:
            raise ValueError("format width past the string limit")  # %0999999999d
        value = next(arguments)
        # %v shows a list, and %#v anything, as JSON
        text = json.dumps(value, separators=(",", ":")) if letter == "v" and (
            "#" in flags or isinstance(value, list)) else None
        # Counted before each piece is made: 40,000 "%99999s" would make 4 GB at once.
        size[0] += int(width or 0) + int(precision or 0) + len(
            text if text is not None else value if isinstance(value, str) else "x" * 32)
        if size[0] > MAX_STRING:
            raise ValueError("format result past the string limit")
        flags = flags.replace("#", "")
        sized = f"%{flags}{width}{'.' + precision if precision is not None else ''}"
        if letter in ("v", "s", "t", "q"):
            if (isinstance(value, list) and letter != "v") \
                    or (letter == "t" and not isinstance(value, bool)) \
                    or (letter == "q" and not isinstance(value, str)):
                raise TypeError(f"%{letter} does not format that value")
            shown = text if text is not None else scalar(value)
            return (sized + "s") % (json.dumps(shown) if letter == "q" else shown)
        if letter in "dboxXeEfFgG" and _number(value):
            if letter in "dboxX" and value != int(value):
                raise TypeError(f"%{letter} formats a whole number")
            if letter == "b":
                align = "<" if "-" in flags else ""
                return format(int(value), f"{'0' if '0' in flags and not align else ''}"
                                          f"{align}{width}b")
            return str((sized + letter) % (int(value) if letter in "doxX" else value))
        raise TypeError(f"format verb %{letter}")

    text = _VERB.sub(verb, spec)
    if "%[" in spec or next(arguments, None) is not None:
        raise ValueError("explicit argument indexes or too many arguments")
    return text


# -- functions on wholly known values ----------------------------------------------------

_KNOWN_ONLY: Mapping[str, Function] = {
    "join": lambda a: _join(_text(a[0]), listed(a[1])),
    "flatten": lambda a: flatten(a[0]),
    "lower": lambda a: _ascii(a[0]).lower(),  # Go's case rules differ past ASCII (ß)
    "upper": lambda a: _ascii(a[0]).upper(),
    "format": _format,
    "tostring": lambda a: _scalar_only(a[0]),
    "trimspace": lambda a: _text(a[0]).strip(),
    "toset": lambda a: set_of(listed(a[0])) or UNDECIDED,
    "distinct": lambda a: list(dict.fromkeys(listed(a[0]))),
    "contains": lambda a: any(_equal(item, a[1]) is True for item in listed(a[0])),
    "split": lambda a: _text(a[1]).split(_text(a[0])) if a[0] else list(_text(a[1])),
    "startswith": lambda a: _text(a[0]).startswith(_text(a[1])),
    "endswith": lambda a: _text(a[0]).endswith(_text(a[1])),
    "min": lambda a: min(a) if all(map(_number, a)) else UNDECIDED,
    "max": lambda a: max(a) if all(map(_number, a)) else UNDECIDED,
    "replace": lambda a: _replace(_text(a[0]), _text(a[1]), _text(a[2])),
}


def _join(separator: str, items: list[Any]) -> str:
    texts = [scalar(item) for item in items]
    if sum(map(len, texts)) + len(separator) * len(texts) > MAX_STRING:
        raise ValueError("join result past the string limit")  # counted before it is made
    return separator.join(texts)


def _text(value: Any) -> str:
    """A string argument (a list given instead is Terraform's error, not its str())."""
    if isinstance(value, list):
        raise TypeError("a string, not a list")
    return scalar(value)


def _ascii(value: Any) -> str:
    if not isinstance(value, str) or not value.isascii():
        raise TypeError("a string of ASCII characters")
    return value


def _scalar_only(value: Any) -> str:
    if isinstance(value, list):
        raise TypeError("tostring takes a string, number or bool")
    return scalar(value)


def _replace(text: str, substring: str, replacement: str) -> str | Unknown:
    """``replace``: a "/.../" substring is an RE2 expression. Only one character class of
    ASCII characters, repeated or not (``"/[^0-9A-Za-z]*/"``, as modules make Sids of
    keys), is evaluated, the way Go replaces: Python's engine backtracks on others, and
    its classes (``\\w``, ``[:alnum:]``) are not RE2's. Others stay unknown."""
    if not (len(substring) >= 2 and substring.startswith("/") and substring.endswith("/")):
        # "" matches between every two characters: replace(big, "", big) is big squared.
        matches = text.count(substring) if substring else len(text) + 1
        if len(text) + matches * len(replacement) > MAX_STRING:
            raise ValueError("replace result past the string limit")
        return text.replace(substring, replacement)
    pattern = substring[1:-1]
    if not _ONE_CLASS.fullmatch(pattern) or len(text) > MAX_PATTERN_TEXT \
            or any(twice in pattern for twice in ("--", "&&", "~~", "||")) \
            or "$" in replacement or len(replacement) * (len(text) + 1) > MAX_STRING:
        return UNDECIDED  # (Python reads a doubled -, &, ~ or | in a class as a set operation)
    pieces, last, previous_end = [], 0, -1
    try:
        for match in re.finditer(pattern, text):
            if match.start() == match.end() == previous_end:
                continue  # Go skips an empty match right after the previous match
            pieces += [text[last:match.start()], replacement]
            last = previous_end = match.end()
    except re.error:  # a range such as z-a
        return UNDECIDED
    return "".join(pieces) + text[last:]


# One bracketed class of printable ASCII but "[", "\\" and "]" (so no escapes and no
# [:name:]), repeated at most once
_ONE_CLASS = re.compile(r"\[\^?[ -Z^-~]+\][*+?]?")


def _known_only(function: Function) -> Function:
    def call(values: list[Any]) -> Any:
        return function(values) if all(plain(v) for v in values) else UNDECIDED
    return call


# -- functions that see structure with unknown parts -------------------------------------

def _lookup(values: list[Any]) -> Any:
    if len(values) not in (2, 3):
        raise TypeError("lookup takes a map, a key and a default")
    table, key = values[0], values[1]
    if not _known_map(table) or not isinstance(key, str):
        return UNDECIDED
    if key in table:
        return table[key]
    return values[2] if len(values) == 3 else Absent(key)


def _merge(values: list[Any]) -> Any:
    merged: dict[Any, Any] = {}
    for value in values:
        if value is None:
            continue
        if not _known_map(value):
            return UNDECIDED
        merged.update(value)
    return merged


def _known_map(value: Any) -> bool:
    """A map whose keys are all known offline (``{(var.k) = 1}``'s is not)."""
    return isinstance(value, Mapping) and known_keys(value)


def _coalesce(values: list[Any]) -> Any:
    """The first argument that is neither null nor an empty string (an empty list is a
    value: ``coalesce([], ["a"])`` is ``[]``)."""
    for value in values:
        if isinstance(value, Unknown):
            return UNDECIDED
        if value is not None and value != "":
            return value
    return Absent("coalesce")  # Terraform fails when every argument is empty


def _coalescelist(values: list[Any]) -> Any:
    """The first list argument that is not empty."""
    for value in values:
        if not isinstance(value, list):
            return UNDECIDED
        if value:
            return value
    return Absent("coalescelist")


def _compact(values: list[Any]) -> Any:
    items = listed(values[0])
    if any(isinstance(item, Unknown) for item in items):
        return UNDECIDED
    return [item for item in items if item is not None and item != ""]


def _concat(values: list[Any]) -> Any:
    if not values or not all(isinstance(value, list) and not isinstance(value, SetValue)
                             for value in values):
        return UNDECIDED
    return [item for value in values for item in value]


def _length(values: list[Any]) -> Any:
    (value,) = values
    if (isinstance(value, str) and value.isascii()) or isinstance(value, list) \
            or _known_map(value):
        return len(value)  # past ASCII, Terraform counts grapheme clusters, not code points
    return UNDECIDED


def _keys(values: list[Any]) -> Any:
    (table,) = values
    return sorted(map(str, table)) if _known_map(table) else UNDECIDED


def _values(values: list[Any]) -> Any:
    (table,) = values
    if not _known_map(table):
        return UNDECIDED
    return [table[key] for key in sorted(table, key=str)]


def _element(values: list[Any]) -> Any:
    items, index = values
    if not isinstance(items, list) or isinstance(items, SetValue) or not _number(index) \
            or not isinstance(index, int):
        return UNDECIDED  # a set has no order to index (Terraform refuses)
    return items[index % len(items)] if items and index >= 0 else Absent("element")


def _slice(values: list[Any]) -> Any:
    items, start, end = values
    if not isinstance(items, list) or isinstance(items, SetValue) \
            or not all(isinstance(i, int) for i in (start, end)):
        return UNDECIDED
    if not 0 <= start <= end <= len(items):
        return Absent("slice")
    return items[start:end]


def _zipmap(values: list[Any]) -> Any:
    keys, items = values
    if not isinstance(keys, list) or not isinstance(items, list) \
            or not all(isinstance(k, str) for k in keys):
        return UNDECIDED
    return dict(zip(keys, items, strict=True))


FUNCTIONS: Mapping[str, Function] = {
    **{name: _known_only(function) for name, function in _KNOWN_ONLY.items()},
    "lookup": _lookup,
    "merge": _merge,
    "coalesce": _coalesce,
    "coalescelist": _coalescelist,
    "compact": _compact,
    "concat": _concat,
    "tolist": lambda a: listed(a[0]),
    "length": _length,
    "keys": _keys,
    "values": _values,
    "element": _element,
    "slice": _slice,
    "zipmap": _zipmap,
}
