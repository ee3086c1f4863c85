"""IAM ``Condition`` blocks evaluated against a request context, three-valued.

The tool rarely knows the whole request context, so a key the context does not hold is
*unknown* rather than false: absence from a partial context does not prove absence from
the request. That holds for ``Null``, the ``...IfExists`` operators, ``ForAllValues:``
and policy variables in values too. Only a *complete* context makes a missing key
absent, and then IAM's absent-key rules decide. With no context at all, every condition
is unknown. Operators the tool does not know are unknown too: never a silent allow/deny.

Within a block, operators and keys are ANDed; the values listed for one key are ORed
(for the negated operators — ``StringNotEquals``, ``NotIpAddress``, ``ArnNotLike`` … —
the context value must match none of them).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeVar

from leastpriv_ci.policy.match import (
    _QMARK,
    _STAR,
    Unresolvable,
    all_of,
    arn_regex,
    resolve_variables,
)
from leastpriv_ci.policy.model import VERSION_2012, Conditions
from leastpriv_ci.times import utc

Compare = Callable[[str, list[str]], bool]
T = TypeVar("T")

_FOR_ALL = "forallvalues:"
_FOR_ANY = "foranyvalue:"
_IF_EXISTS = "ifexists"


def evaluate_conditions(
    conditions: Conditions,
    context: Mapping[str, object] | None,
    *,
    version: str = VERSION_2012,
    complete: bool = False,
) -> bool | None:
    """Whether a statement's condition block holds; ``None`` when it cannot be decided.

    ``context`` must have lower-cased keys (see :func:`~leastpriv_ci.policy.match.lower_context`).
    With ``complete``, the context is the request's whole context: a key it lacks is
    absent, and IAM's absent-key rules decide (never unknown).
    """
    if not conditions:
        return True
    if context is None:
        if not complete:
            return None
        context = {}
    results: list[bool | None] = []
    for operator, keys in conditions.items():
        for key, values in keys.items():
            result = evaluate_condition(operator, key, values, context, version=version,
                                        complete=complete)
            if result is False:
                return False
            results.append(result)
    return all_of(results)


def evaluate_condition(
    operator: str,
    key: str,
    values: tuple[str, ...],
    context: Mapping[str, object],
    *,
    version: str = VERSION_2012,
    complete: bool = False,
) -> bool | None:
    """One ``operator: {key: values}`` entry against a (lower-cased) context."""
    name = operator.lower()
    qualifier = ""
    for prefix in (_FOR_ALL, _FOR_ANY):
        if name.startswith(prefix):
            qualifier, name = prefix, name[len(prefix):]
    if_exists = name.endswith(_IF_EXISTS) and name != _IF_EXISTS
    if if_exists:
        name = name[: -len(_IF_EXISTS)]
    raw = context.get(key.lower())
    if raw is None and not complete:
        return None  # missing from a partial context: it may be in the request
    if name == "null":
        return _null(values, raw)
    operation = _OPERATORS.get(name)
    if operation is None:
        return None
    compare, negated, wildcards = operation
    try:
        patterns = _policy_values(values, context, version, wildcards, complete)
    except Unresolvable:
        return None
    actual = [] if raw is None else _context_values(raw)
    if not actual:
        if if_exists or qualifier == _FOR_ALL:
            return True
        if qualifier == _FOR_ANY and raw is not None:
            return False  # present but empty: IAM defines ForAnyValue as false
        if complete:
            # IAM: an absent key matches no value, so a negated operator holds
            return negated and qualifier != _FOR_ANY
        return None

    def holds(value: str) -> bool:
        found = compare(value, patterns)
        return not found if negated else found

    if qualifier == _FOR_ALL:
        return all(holds(v) for v in actual)
    if qualifier == _FOR_ANY or not negated:
        return any(holds(v) for v in actual)
    return all(holds(v) for v in actual)


def _null(values: tuple[str, ...], raw: object) -> bool:
    absent = raw is None or (isinstance(raw, list | tuple) and not raw)
    return any((v.lower() == "true") == absent for v in values)


def _policy_values(
    values: tuple[str, ...], context: Mapping[str, object], version: str, wildcards: str,
    complete: bool,
) -> list[str]:
    """Policy values with variables substituted; for the ``Like`` operators each value
    becomes an anchored regex (wildcards from the policy, literals from variables)."""
    resolved: list[str] = []
    for value in values:
        try:
            tokens = resolve_variables(value, context, version=version, complete=complete)
        except Unresolvable:
            continue  # a value whose variable cannot be resolved matches nothing
        if tokens is None:
            raise Unresolvable(value)
        if wildcards == "glob":
            resolved.append("".join(_glob_part(t) for t in tokens))
        elif wildcards == "arn":
            resolved.append(arn_regex(tokens))
        else:
            resolved.append("".join("*" if t == _STAR else "?" if t == _QMARK else t
                                    for t in tokens))
    return resolved


def _glob_part(token: str) -> str:
    if token == _STAR:
        return ".*"
    if token == _QMARK:
        return "."
    return re.escape(token)


def _context_values(raw: object) -> list[str]:
    items = raw if isinstance(raw, list | tuple) else [raw]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, datetime):
            out.append(item.isoformat())
        else:
            out.append(str(item))
    return out


@lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)


def _string_equals(value: str, patterns: list[str]) -> bool:
    return value in patterns


def _string_equals_ignore_case(value: str, patterns: list[str]) -> bool:
    folded = value.casefold()
    return any(folded == p.casefold() for p in patterns)


def _regex_like(value: str, patterns: list[str]) -> bool:
    return any(_regex(p).fullmatch(value) is not None for p in patterns)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numeric(test: Callable[[float, float], bool]) -> Compare:
    return _ordered(_number, test)


def _date(text: str) -> datetime | None:
    number = _number(text)
    if number is not None:
        return utc(number)  # None past any date: read as a malformed date (_ordered)
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dated(test: Callable[[datetime, datetime], bool]) -> Compare:
    return _ordered(_date, test)


def _ordered(read: Callable[[str], T | None], test: Callable[[T, T], bool]) -> Compare:
    """A comparison of values read as ``read`` reads them; one it cannot read never
    matches (IAM's rule for a malformed number or date)."""
    def compare(value: str, patterns: list[str]) -> bool:
        actual = read(value)
        if actual is None:
            return False
        return any((p := read(pattern)) is not None and test(actual, p)
                   for pattern in patterns)
    return compare


def _bool(value: str, patterns: list[str]) -> bool:
    return any(value.lower() == p.lower() for p in patterns)


def _ip(value: str, patterns: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    for pattern in patterns:
        try:
            if address in ipaddress.ip_network(pattern.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


# operator (lower case, without qualifier or IfExists) -> (compare, negated, wildcard mode)
_OPERATORS: dict[str, tuple[Compare, bool, str]] = {
    "stringequals": (_string_equals, False, ""),
    "stringnotequals": (_string_equals, True, ""),
    "stringequalsignorecase": (_string_equals_ignore_case, False, ""),
    "stringnotequalsignorecase": (_string_equals_ignore_case, True, ""),
    "stringlike": (_regex_like, False, "glob"),
    "stringnotlike": (_regex_like, True, "glob"),
    "numericequals": (_numeric(lambda a, b: a == b), False, ""),
    "numericnotequals": (_numeric(lambda a, b: a == b), True, ""),
    "numericlessthan": (_numeric(lambda a, b: a < b), False, ""),
    "numericlessthanequals": (_numeric(lambda a, b: a <= b), False, ""),
    "numericgreaterthan": (_numeric(lambda a, b: a > b), False, ""),
    "numericgreaterthanequals": (_numeric(lambda a, b: a >= b), False, ""),
    "dateequals": (_dated(lambda a, b: a == b), False, ""),
    "datenotequals": (_dated(lambda a, b: a == b), True, ""),
    "datelessthan": (_dated(lambda a, b: a < b), False, ""),
    "datelessthanequals": (_dated(lambda a, b: a <= b), False, ""),
    "dategreaterthan": (_dated(lambda a, b: a > b), False, ""),
    "dategreaterthanequals": (_dated(lambda a, b: a >= b), False, ""),
    "bool": (_bool, False, ""),
    "binaryequals": (_string_equals, False, ""),
    "ipaddress": (_ip, False, ""),
    "notipaddress": (_ip, True, ""),
    # ArnEquals and ArnLike are the same test: both allow wildcards in every segment.
    "arnequals": (_regex_like, False, "arn"),
    "arnlike": (_regex_like, False, "arn"),
    "arnnotequals": (_regex_like, True, "arn"),
    "arnnotlike": (_regex_like, True, "arn"),
}

KNOWN_OPERATORS = frozenset(_OPERATORS) | {"null"}
