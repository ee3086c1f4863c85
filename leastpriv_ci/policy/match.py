"""Matching IAM action and resource patterns, with policy variables.

The rules are IAM's, not ``fnmatch``'s:

* Actions: the service prefix and the name are case-insensitive; ``*`` matches any run,
  ``?`` exactly one character, ``[`` is a literal; a bare ``*`` matches every action.
  The colon is a literal, so ``s3:*`` never covers ``s3express:*``.
* Resources: case-sensitive. In the partition, service, region and account segments a
  ``*`` stays inside its segment unless it is the segment's last character, in which
  case it may run across later colons (IAM's documented rule); in the resource part
  (after the fifth colon) ``*`` crosses ``/`` and ``:`` alike. Everything else is
  literal, so ``arn:aws:s3:::bucket`` is not ``arn:aws:s3:::bucket/*`` and
  ``function:f:*`` does not cover ``function:f``.
* Policy variables (``${aws:username}``, ``${aws:PrincipalTag/team}``,
  ``${key, 'default'}``, ``${*}``, ``${?}``, ``${$}``) are substituted from a request
  context under policy version ``2012-10-17`` only; substituted text is literal. A key
  the context lacks is unknown unless the context is complete; a pattern no value of
  its variables can make match (``home/${aws:username}/*`` for another bucket) still
  does not match.

Results are three-valued where the policy cannot be decided: ``None`` means *unknown*
(an unresolved infrastructure value, or a variable the context cannot resolve).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache, lru_cache
from typing import Final

from leastpriv_ci.bundled import load
from leastpriv_ci.policy.model import VERSION_2012, Statement, is_unresolved
from leastpriv_ci.policy.wildcards import has_wildcard, wildcard_regex

Context = Mapping[str, object]

# Tokens of a compiled pattern: a wildcard marker or one literal character.
_STAR: Final = "\x00*"
_QMARK: Final = "\x00?"
# A policy variable whose value is not known: any text, colons included
_VALUE: Final = "\x00$"

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")
_LITERAL_VARIABLES = {"*": "*", "?": "?", "$": "$"}
_COLON: Final = ":"
_HEADER_SEGMENTS = 5  # arn, partition, service, region, account


class Unresolvable(Exception):
    """A policy variable names a key the request context does not hold."""


def action_matches(pattern: str, action: str) -> bool:
    """Whether an IAM action pattern (``s3:Get*``, ``*``) covers ``action``.

    Case-insensitive; an unresolved pattern matches nothing here (callers that need the
    three-valued answer use :func:`action_match`).
    """
    return action_match(pattern, action) is True


def action_match(pattern: str, action: str) -> bool | None:
    """Three-valued :func:`action_matches`: ``None`` for an unresolved pattern."""
    if pattern == "*":
        return True
    if is_unresolved(pattern):
        return None
    if not has_wildcard(pattern):
        return pattern.lower() == action.lower()
    return wildcard_regex(pattern, case_sensitive=False).fullmatch(action) is not None


def lower_context(context: Context | None) -> dict[str, object] | None:
    """The context with lower-cased keys: IAM condition keys are case-insensitive."""
    if context is None:
        return None
    return {str(k).lower(): v for k, v in context.items()}


def context_value(context: Mapping[str, object], key: str) -> object | None:
    """Look a key up in a context already passed through :func:`lower_context`."""
    return context.get(key.lower())


def single_string(value: object) -> str | None:
    """A context value as one string (bools as ``true``/``false``), or None if it is
    missing or multi-valued."""
    if isinstance(value, list | tuple):
        if len(value) != 1:
            return None
        value = value[0]
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def resolve_variables(
    text: str, context: Mapping[str, object] | None, *, version: str = VERSION_2012,
    complete: bool = False,
) -> list[str] | None:
    """Split ``text`` into tokens with its policy variables substituted.

    Returns a list of literal characters and :data:`_STAR`/``_QMARK`` wildcard markers,
    or ``None`` when a variable's value is unknown: there is no context, or the context
    lacks the key and is not ``complete`` (a partial context does not prove the key
    absent from the request). With ``complete``, a missing key takes the variable's
    default, or raises :class:`Unresolvable` when it has none. ``context`` must have
    lower-cased keys (see :func:`lower_context`).
    """
    return _substituted(text, version,
                        lambda name: _variable_value(name, context, complete))


def _substituted(text: str, version: str, value_of: Callable[[str], Iterable[str] | None]
                 ) -> list[str] | None:
    """Tokens of ``text``, each policy variable's from ``value_of`` (``None``: unknown)."""
    tokens: list[str] = []
    position = 0
    matches = _VARIABLE.finditer(text) if version == VERSION_2012 else iter(())
    for found in matches:
        tokens.extend(_glob_tokens(text[position:found.start()]))
        position = found.end()
        value = value_of(found.group(1))
        if value is None:
            return None
        tokens.extend(value)  # substituted text is literal, wildcard characters included
    tokens.extend(_glob_tokens(text[position:]))
    return tokens


def has_variables(text: str) -> bool:
    return "${" in text


def any_value_tokens(text: str, *, version: str = VERSION_2012) -> list[str]:
    """Tokens of ``text`` (as :func:`resolve_variables` gives them) with each policy
    variable standing for any value it may take (``${*}``, ``${?}``, ``${$}`` stay the
    characters they are): what the pattern may match whatever the request context."""
    tokens = _substituted(text, version,
                          lambda name: [_LITERAL_VARIABLES.get(name.strip(), _VALUE)])
    assert tokens is not None  # every variable has a value here
    return tokens


def widest(pattern: str) -> str:
    """``pattern`` with each policy variable read as ``*`` (any value it may take); the
    escapes ``${*}``, ``${?}``, ``${$}`` stay, as they stand for one literal character."""
    return _VARIABLE.sub(
        lambda m: m.group(0) if m.group(1).strip() in _LITERAL_VARIABLES else "*", pattern)


def _glob_tokens(text: str) -> list[str]:
    return [_STAR if c == "*" else _QMARK if c == "?" else c for c in text]


def _variable_value(body: str, context: Mapping[str, object] | None,
                    complete: bool) -> str | None:
    body_stripped = body.strip()
    if body_stripped in _LITERAL_VARIABLES:
        return _LITERAL_VARIABLES[body_stripped]
    default: str | None = None
    with_default = _DEFAULT.match(body)
    key = body_stripped
    if with_default:
        key, default = with_default.group(1), with_default.group(2)
    if context is None:
        return None  # no context: whether the key is present is unknown, so is the default
    raw = context_value(context, key)
    value = single_string(raw)
    if value is not None:
        return value
    if raw is None and not complete:
        return None  # missing from a partial context: present or not, the value is unknown
    if default is not None:
        return default
    raise Unresolvable(key)


def arn_regex(tokens: list[str], *, over_patterns: bool = False) -> str:
    """The regular expression for resource-pattern tokens, by IAM's segment rules.

    With ``over_patterns`` the regex is matched against another pattern's text (does
    this pattern cover every resource that one does?): a ``?`` then stands for one
    literal character, never for the other pattern's ``*`` or ``?``.
    """
    one = "[^:*?]" if over_patterns else "[^:]"
    any_one = "[^*?]" if over_patterns else "."
    parts: list[str] = []
    colons = 0
    for index, token in enumerate(tokens):
        in_header = colons < _HEADER_SEGMENTS
        if token == _VALUE:
            parts.append(".*")  # a variable's value may hold any text, ":" included
        elif token == _STAR:
            if not in_header:
                parts.append(".*")
            else:
                following = tokens[index + 1] if index + 1 < len(tokens) else None
                parts.append(".*" if following in (None, ":") else "[^:]*")
        elif token == _QMARK:
            parts.append(one if in_header else any_one)
        else:
            colons += token == _COLON
            parts.append(re.escape(token))
    return "".join(parts)


@lru_cache(maxsize=65536)
def _compile_arn(regex: str) -> re.Pattern[str]:
    return re.compile(regex, re.DOTALL)


# A secret the trace named without its ARN's random suffix ("NAME-" and six characters):
# usage/resources.py writes the suffix as six "?". IAM authorizes the call on the
# secret's full ARN, which a grant may name exactly.
UNNAMED_SUFFIX = "-" + "?" * 6
_RANDOM_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}\Z")


def same_secret(arn: str, named: str) -> bool:
    """Whether the full secret ARN ``arn`` is the secret ``named`` (its name with the
    unknown suffix): one name is one secret in an account and region."""
    stem = len(named) - len(UNNAMED_SUFFIX)
    return (len(arn) == len(named) and arn[:stem] == named[:stem]
            and ":secretsmanager:" in arn and _RANDOM_SUFFIX.search(arn) is not None)


# An SES identity that is an address (identity/ADDRESS): its domain after the "@"
_SES_ADDRESS = re.compile(r"(arn:[^:]+:ses:[^:]*:[^:]*:identity/)[^/@]*@([^/@]+)\Z")


@cache
def _send_actions() -> frozenset[str]:
    return frozenset(a.lower() for a in load("ses_identities.yaml")["send_actions"])


def sender_identities(action: str, resource: str) -> tuple[str, ...]:
    """For an SES send from an address (``identity/ADDRESS``), the identities besides it
    SES may authorize the send on: its domain's and each parent domain's
    (``ses_identities.yaml``), most specific first, in lower case as domain identities
    are written (a sender may write ``Example.com``). ``()`` for anything else."""
    found = _SES_ADDRESS.match(resource) if "@" in resource else None
    if found is None or action.lower() not in _send_actions():
        return ()
    labels = found.group(2).lower().split(".")
    return tuple(found.group(1) + ".".join(labels[i:]) for i in range(len(labels) - 1))


class ResourcePattern:
    """A resource pattern compiled once for repeated matching.

    ``match`` answers True/False, or None when the pattern is an unresolved value or
    holds variables the context cannot resolve, and some value of them would match.
    """

    __slots__ = ("_equal", "_regex", "_state", "text")

    def __init__(
        self, text: str, context: Mapping[str, object] | None = None,
        *, version: str = VERSION_2012, complete: bool = False,
    ) -> None:
        """Compile ``text``; ``context`` must have lower-cased keys (``complete``: see
        :func:`resolve_variables`)."""
        self.text = text
        self._equal: str | None = None
        self._regex: re.Pattern[str] | None = None
        self._state: bool | None = True  # True: compiled; False: matches nothing; None: unknown
        if text == "*":
            self._regex = None
            return
        if is_unresolved(text):
            self._state = None
            return
        try:
            tokens = resolve_variables(text, context, version=version, complete=complete)
        except Unresolvable:
            self._state = False
            return
        if tokens is None:
            # unknown, unless no value of the variables can make it match
            self._state = None
            self._regex = _compile_arn(arn_regex(any_value_tokens(text, version=version)))
            return
        if _STAR not in tokens and _QMARK not in tokens:
            self._equal = "".join(tokens)
        else:
            self._regex = _compile_arn(arn_regex(tokens))

    def match(self, resource: str) -> bool | None:
        """Whether the pattern covers ``resource`` (case-sensitive)."""
        if self._state is None and self._regex is not None:
            return None if _may_match(self._regex, resource) else False
        if self._state is not True:
            return self._state
        if self._equal is not None:
            if resource.endswith(UNNAMED_SUFFIX) and self._equal != resource:
                return same_secret(self._equal, resource)
            return self._equal == resource
        if self._regex is None:  # bare "*"
            return True
        return self._regex.fullmatch(resource) is not None


class ActionSet:
    """The patterns of one ``Action``/``NotAction`` list, compiled into one matcher.

    ``match`` is the three-valued OR over the patterns (see :func:`action_match`).
    """

    __slots__ = ("_all", "_equal", "_regex", "_unknown")

    def __init__(self, patterns: Iterable[str]) -> None:
        self._all = False
        self._unknown = False
        equal: set[str] = set()
        regexes: list[str] = []
        for pattern in patterns:
            if pattern == "*":
                self._all = True
            elif is_unresolved(pattern):
                self._unknown = True
            elif has_wildcard(pattern):
                regexes.append(wildcard_regex(pattern, case_sensitive=False).pattern)
            else:
                equal.add(pattern.lower())
        self._equal = frozenset(equal)
        self._regex = (re.compile("|".join(f"(?:{r})" for r in regexes),
                                  re.DOTALL | re.IGNORECASE) if regexes else None)

    def match(self, action: str) -> bool | None:
        """Whether any pattern covers ``action`` (None: only unresolved ones might)."""
        if self._all or action.lower() in self._equal:
            return True
        if self._regex is not None and self._regex.fullmatch(action) is not None:
            return True
        return None if self._unknown else False


class ResourceSet:
    """The patterns of one ``Resource``/``NotResource`` list, compiled into one matcher
    (exact ARNs in a set, wildcard patterns in one alternation)."""

    __slots__ = ("_all", "_equal", "_maybe", "_regex", "_unknown")

    def __init__(
        self, patterns: Iterable[str], context: Mapping[str, object] | None = None,
        *, version: str = VERSION_2012, complete: bool = False,
    ) -> None:
        """Compile ``patterns``; ``context`` must have lower-cased keys (``complete``: see
        :func:`resolve_variables`)."""
        self._all = False
        self._unknown = False
        equal: set[str] = set()
        regexes: list[str] = []
        maybe: list[str] = []  # patterns with variables of unknown value, read as any value
        for text in patterns:
            if text == "*":
                self._all = True
                continue
            if is_unresolved(text):
                self._unknown = True
                continue
            try:
                tokens = resolve_variables(text, context, version=version, complete=complete)
            except Unresolvable:
                continue  # matches nothing
            if tokens is None:
                maybe.append(arn_regex(any_value_tokens(text, version=version)))
            elif _STAR in tokens or _QMARK in tokens:
                regexes.append(arn_regex(tokens))
            else:
                equal.add("".join(tokens))
        self._equal = frozenset(equal)
        self._regex = (_compile_arn("|".join(f"(?:{r})" for r in regexes))
                       if regexes else None)
        self._maybe = (_compile_arn("|".join(f"(?:{r})" for r in maybe)) if maybe else None)

    def match(self, resource: str) -> bool | None:
        """Whether any pattern covers ``resource`` (case-sensitive; None: unknown)."""
        if self._all or resource in self._equal:
            return True
        if self._regex is not None and self._regex.fullmatch(resource) is not None:
            return True
        if resource.endswith(UNNAMED_SUFFIX) and any(same_secret(arn, resource)
                                                     for arn in self._equal):
            return True
        if self._unknown or (self._maybe is not None and _may_match(self._maybe, resource)):
            return None
        return False


def _may_match(regex: re.Pattern[str], resource: str) -> bool:
    """Whether a pattern read with its variables as any value (``regex``) may match
    ``resource``: a secret named without its suffix (``-??????``) may be any of its ARNs."""
    return resource.endswith(UNNAMED_SUFFIX) or regex.fullmatch(resource) is not None


def resource_matches(
    pattern: str,
    resource: str,
    *,
    context: Mapping[str, object] | None = None,
    version: str = VERSION_2012,
    complete: bool = False,
) -> bool | None:
    """Whether a resource pattern covers ``resource``; ``None`` when unknown.

    An unresolved value (:func:`~leastpriv_ci.policy.model.is_unresolved`) is unknown;
    so is a policy variable whose key the context lacks, unless the context is
    ``complete``: then the variable takes its default, or the pattern matches nothing.
    """
    return ResourcePattern(pattern, lower_context(context), version=version,
                           complete=complete).match(resource)


def pattern_covers(pattern: str, other: str) -> bool:
    """Whether resource pattern ``pattern`` matches every resource ``other`` matches.

    False when it cannot be told offline (a policy variable or an unresolved value).
    """
    if pattern == "*" or pattern == other:
        return True
    if other == "*" or is_unresolved(pattern) or is_unresolved(other):
        return False
    if has_variables(pattern) or has_variables(other):
        return False
    tokens = resolve_variables(pattern, None)
    if tokens is None:  # pragma: no cover - no variables left to resolve
        return False
    regex = _compile_arn(arn_regex(tokens, over_patterns=True))
    return regex.fullmatch(other) is not None


_FORMAT_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# Character classes of could_match's tokens: any character, or any but "/"
_ANY: Final = "any"
_NO_SLASH: Final = "no-slash"


@lru_cache(maxsize=65536)
def could_match(pattern: str, arn_format: str, whole: frozenset[str] = frozenset()) -> bool:
    """Whether resource pattern ``pattern`` may match some ARN of ``arn_format`` (the
    catalog's ``arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}``).

    False only when no ARN of that format can match, so a grant on ``pattern`` cannot
    apply to that resource type. Each ``${Name}`` of the format stands for any non-empty
    text, without "/" for the names in ``whole``; a ``*`` of the pattern for any text
    (across ``:`` too, which errs towards "may match"). A pattern with policy variables,
    or one not known offline, may match anything.
    """
    if is_unresolved(pattern) or has_variables(pattern):
        return True
    service = pattern.split(":", 3)[2] if pattern.startswith("arn:") else ""
    fixed = arn_format.split(":", 3)[2] if arn_format.count(":") >= 3 else ""
    if service and fixed and not has_wildcard(service) and "${" not in fixed and (
            service != fixed):
        return False
    left = _pattern_tokens(pattern)
    right: list[tuple[str, str]] = []
    for index, piece in enumerate(_FORMAT_VARIABLE.split(arn_format)):
        if index % 2:  # a ${Name}: one character or more
            kind = _NO_SLASH if piece in whole else _ANY
            right += [("one", kind), ("run", kind)]
        else:
            right += [("lit", c) for c in piece]
    return _intersects(left, right)


def patterns_intersect(first: str, second: str) -> bool:
    """Whether two resource patterns may match some resource in common.

    False only when no resource can match both. A pattern with policy variables, or one
    not known offline, may match anything; a ``*`` may run across ``:`` (errs towards
    "may").
    """
    if any(is_unresolved(p) or has_variables(p) for p in (first, second)):
        return True
    return _intersects(_pattern_tokens(first), _pattern_tokens(second))


def residuals_after(pattern: str, prefix: str) -> tuple[str, ...] | None:
    """What resource pattern ``pattern`` leaves to match after the literal text
    ``prefix``: the patterns R such that ``prefix`` followed by what R matches is what
    ``pattern`` matches among the resources beginning with ``prefix`` (``()``: none).

    Each ``*`` is read as any text, across colons too: where IAM keeps one within its ARN
    segment the result may say more, so a caller checks it with :func:`pattern_covers`.
    None for a pattern with a policy variable or a value not known offline. Literal
    ``*``, ``?`` and ``$`` in R are written ``${*}``, ``${?}``, ``${$}``.
    """
    if is_unresolved(pattern):
        return None
    tokens = resolve_variables(pattern, None)
    if tokens is None:
        return None

    def closure(states: set[int]) -> set[int]:
        found = set(states)
        for state in states:  # a "*" may match nothing
            while state < len(tokens) and tokens[state] == _STAR:
                state += 1
                found.add(state)
        return found

    states = closure({0})
    for char in prefix:
        states = closure({state if tokens[state] == _STAR else state + 1
                          for state in states if state < len(tokens)
                          and tokens[state] in (_STAR, _QMARK, char)})
        if not states:
            return ()
    return tuple(sorted({"".join(_written(t) for t in tokens[state:]) for state in states}))


def _written(token: str) -> str:
    """A token as a 2012-10-17 pattern writes it (a literal ``*``, ``?``, ``$`` escaped)."""
    if token == _STAR:
        return "*"
    if token == _QMARK:
        return "?"
    return f"${{{token}}}" if token in _LITERAL_VARIABLES else token


def _pattern_tokens(pattern: str) -> list[tuple[str, str]]:
    return [("run", _ANY) if c == "*" else ("one", _ANY) if c == "?" else ("lit", c)
            for c in pattern]


def _common(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Whether one character can stand for both tokens."""
    if a[0] == "lit" and b[0] == "lit":
        return a[1] == b[1]
    if a[0] == "lit":
        return b[1] == _ANY or a[1] != "/"
    if b[0] == "lit":
        return a[1] == _ANY or b[1] != "/"
    return True


def _intersects(left: list[tuple[str, str]], right: list[tuple[str, str]]) -> bool:
    """Whether two token lists match some text in common (a walk over pairs of positions)."""
    end = (len(left), len(right))
    seen = {(0, 0)}
    pending = [(0, 0)]
    while pending:
        i, j = pending.pop()
        if (i, j) == end:
            return True
        a = left[i] if i < len(left) else None
        b = right[j] if j < len(right) else None
        steps = []
        if a is not None and a[0] == "run":
            steps.append((i + 1, j))  # the run ends
        if b is not None and b[0] == "run":
            steps.append((i, j + 1))
        if a is not None and b is not None and _common(a, b):
            steps.append((i if a[0] == "run" else i + 1, j if b[0] == "run" else j + 1))
        for step in steps:
            if step not in seen:
                seen.add(step)
                pending.append(step)
    return False


def any_of(results: list[bool | None] | tuple[bool | None, ...]) -> bool | None:
    """Three-valued OR: True if any is True, else None if any is unknown, else False."""
    unknown = False
    for result in results:
        if result is True:
            return True
        if result is None:
            unknown = True
    return None if unknown else False


def all_of(results: list[bool | None] | tuple[bool | None, ...]) -> bool | None:
    """Three-valued AND: False if any is False, else None if any is unknown, else True."""
    unknown = False
    for result in results:
        if result is False:
            return False
        if result is None:
            unknown = True
    return None if unknown else True


def negate(result: bool | None) -> bool | None:
    return None if result is None else not result


def statement_acts(statement: Statement, action: str) -> bool | None:
    """Whether the statement's Action (or NotAction) list covers ``action`` (None: a
    pattern that cannot be decided offline)."""
    acting = any_of([action_match(p, action) for p in statement.actions])
    if statement.not_actions:
        return None if acting is None else not acting
    return acting


def declared_patterns(statements: Sequence[Statement], action: str) -> tuple[str, ...]:
    """Resource patterns of the Allow statements whose actions cover ``action``, each as
    a ``2012-10-17`` policy writes it (:func:`as_version_2012`)."""
    patterns: list[str] = []
    for statement in statements:
        if not statement.is_allow or statement.not_resources:
            continue
        if statement_acts(statement, action):
            written = (as_version_2012(r, statement.version) for r in statement.resources)
            patterns.extend(r for r in written if r not in patterns)
    return tuple(patterns)


def as_version_2012(pattern: str, version: str) -> str:
    """A resource pattern of a policy of ``version``, written for a ``2012-10-17`` one
    that matches the same: under ``2008-10-17`` a ``${`` is plain text, which the
    later version would read as a policy variable, so each ``$`` becomes ``${$}``."""
    if version == VERSION_2012 or is_unresolved(pattern):
        return pattern
    return pattern.replace("$", "${$}")


def statement_matches(statement: Statement, resource: str) -> bool | None:
    """Whether the statement's Resource (or NotResource) list covers ``resource`` (None: a
    pattern that cannot be decided offline)."""
    matched = any_of([resource_matches(p, resource, version=statement.version)
                      for p in statement.resources])
    if statement.not_resources:
        return None if matched is None else not matched
    return matched


def statement_covers(statement: Statement, pattern: str) -> bool:
    """Whether the statement's resources certainly include every resource ``pattern``
    matches: one of its Resource patterns covers it, or none of its NotResource patterns
    may match a resource of it."""
    if statement.not_resources:
        return not any(patterns_intersect(p, pattern) for p in statement.resources)
    return any(pattern_covers(p, pattern) for p in statement.resources)


def statement_reaches(statement: Statement, pattern: str) -> bool:
    """Whether the statement's resources may include some resource ``pattern`` matches."""
    if statement.not_resources:
        return not any(pattern_covers(p, pattern) for p in statement.resources)
    return any(patterns_intersect(p, pattern) for p in statement.resources)
