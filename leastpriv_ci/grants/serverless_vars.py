"""Serverless Framework variables (``${self:…}``, ``${opt:stage, 'dev'}``…), resolved offline.

Only what can be known from the repository and the scan is resolved: the same file
(``self:``), the stage and region, the account, and JSON/YAML files inside the repository
(``file(…)``). Remote sources (``ssm:``, ``cf:``, ``s3:``, ``param:``) and the environment
(``env:``, which on a CI runner is not the deployment's environment) become explicit
*unresolved* values with a warning. Every resolution is bounded: cycles, nesting depth,
the number of variables evaluated and the length of the strings they build leave a value
unresolved; a value that would expand past ``MAX_NODES`` values (a YAML alias bomb, or
variables that repeat lists of lists) is an error, since nothing useful survives it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.checkout import inside
from leastpriv_ci.loaders import LoadError, LocatedDict, load_file
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import UNRESOLVED_PREFIX, unresolved

MAX_DEPTH = 32  # nested variable resolutions (self → self → …)
MAX_STEPS = 20_000  # variables evaluated per file
MAX_STRING = 64 * 1024  # characters a resolved string may grow to
MAX_FILES = 32  # ${file(…)} documents read per serverless file
MAX_NODES = 100_000  # values a resolved list/mapping may span once its repeats are expanded
LIMIT_MESSAGE = (f"variables past the limits (depth {MAX_DEPTH}, {MAX_STEPS} variables, "
                 f"{MAX_STRING} characters) are left unresolved")

_REMOTE = ("ssm", "cf", "s3", "param", "sls:instanceId")
_QUOTED = re.compile(r"""^\s*(?:'([^']*)'|"([^"]*)")\s*$""")
_NUMBER = re.compile(r"^\s*-?\d+(?:\.\d+)?\s*$")
# ${Name}, ${AWS::Region}, ${Res.Arn}, ${!Literal}: Fn::Sub syntax, left for CloudFormation.
_CFN_SUB = re.compile(r"^\$\{(?:!.*|[\w.]+|AWS::\w+)\}$", re.DOTALL)
_FILE = re.compile(r"^file\((?P<path>[^)]*)\)(?::(?P<address>.*))?$", re.DOTALL)


class Unresolvable(Exception):
    """A variable has no value here; ``reason`` says which and why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass
class VariableResolver:
    """Resolves the variables of one serverless.yml document.

    ``stage`` is the stage given for the scan (``--stage``); ``root`` bounds ``file(…)``.
    """

    document: Mapping[str, Any]
    path: Path
    root: Path
    region: str
    account: str
    notices: Notices
    stage: str | None = None
    # Framework v1 fills provider.stage ("dev", or --stage) and provider.region before
    # resolving, so ${self:provider.stage} has a value the file does not write
    provider_defaults: bool = False
    loader: Callable[[Path], Any] = load_file
    _memo: dict[str, Any] = field(default_factory=dict)
    _active: list[str] = field(default_factory=list)
    _steps: int = 0
    _files: dict[Path, Any] = field(default_factory=dict)
    _effective_stage: str | None = None
    _stage_guessed: bool = False  # provider.stage does not resolve: "dev" stands in
    _sizes: dict[int, int] = field(default_factory=dict)
    _keep: list[Any] = field(default_factory=list)
    _resolved: dict[int, Any] = field(default_factory=dict)  # id(raw container) → its value
    _reading: list[str] = field(default_factory=list)  # ${file(…)} documents being resolved

    # -- public ---------------------------------------------------------------------------

    def get(self, address: str, default: Any = None) -> Any:
        """The resolved value at a dotted path of the document (``provider.iam.role``)."""
        try:
            value = self._self(address)
        except Unresolvable as exc:
            self._warn("serverless-unresolved-variable", exc.reason)
            return unresolved(exc.reason)
        return default if value is None else value

    def resolve(self, value: Any) -> Any:
        """``value`` with every variable inside it resolved (or marked unresolved)."""
        try:
            return self._deep(value, 0)
        except Unresolvable as exc:
            self._warn("serverless-unresolved-variable", exc.reason)
            return unresolved(exc.reason)

    def effective_stage(self) -> str:
        """``--stage`` if given, else ``provider.stage``, else ``dev`` (like ``${sls:stage}``)."""
        if self._effective_stage is None:
            self._effective_stage = "dev"  # guards provider.stage: ${sls:stage}
            if self.stage:
                self._effective_stage = self.stage
            else:
                found = self.get("provider.stage")
                if isinstance(found, str) and found and UNRESOLVED_PREFIX not in found:
                    self._effective_stage = found
                else:
                    self._stage_guessed = found is not None
        return self._effective_stage

    def stage_known(self) -> bool:
        """Whether :meth:`effective_stage` is the stage deployed: given for the scan,
        written in the file or left to the framework's ``dev``, not a stand-in for a
        ``provider.stage`` that does not resolve or for a ``${opt:stage}`` without a
        default (the deploy's ``--stage``, which the scan was not given)."""
        self.effective_stage()
        return not self._stage_guessed

    # -- values ---------------------------------------------------------------------------

    def _deep(self, value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise Unresolvable(f"nesting deeper than {MAX_DEPTH}")
        if isinstance(value, str):
            return self._string(value, depth)
        if not isinstance(value, Mapping | list):
            return value
        # YAML aliases share one node: resolve it once, or `[*a, *a, …]` chains cost 9^n.
        if id(value) in self._resolved:
            return self._resolved[id(value)]
        if isinstance(value, Mapping):
            out = LocatedDict()
            out.line = getattr(value, "line", None)
            if hasattr(value, "file"):
                out.file = value.file  # type: ignore[attr-defined]
            for key, item in value.items():
                out[key] = self._resolve_or_mark(item, depth + 1)
            resolved: Any = self._sized(out, out.values())
        else:
            items = [self._resolve_or_mark(item, depth + 1) for item in value]
            resolved = self._sized(items, items)
        self._resolved[id(value)] = resolved
        self._keep.append(value)  # the raw node's id stays unique too
        return resolved

    def _sized(self, container: Any, children: Any) -> Any:
        """Record how many values ``container`` spans once expanded; an error past the limit.

        Shared values (YAML aliases, memoised ``self:`` values) are cheap here but would
        explode in whatever walks the result next. The error is not caught per value:
        marking one child unresolved and going on with its siblings would redo the
        exponential work for each of them.
        """
        size = 1 + sum(self._sizes.get(id(child), 1) for child in children)
        if size > MAX_NODES:
            via = f" (in {self._reading[-1]})" if self._reading else ""
            raise UserError(
                f"a value{via} expands to more than {MAX_NODES} values once its YAML aliases "
                "and variables are repeated (an alias bomb?); remove the repeated aliases or "
                "references", where=str(self.path))
        self._sizes[id(container)] = size
        self._keep.append(container)  # ids stay unique while the resolver lives
        return container

    def _resolve_or_mark(self, value: Any, depth: int) -> Any:
        try:
            return self._deep(value, depth)
        except Unresolvable as exc:
            self._warn("serverless-unresolved-variable", exc.reason)
            return unresolved(str(value) if isinstance(value, str) else exc.reason)

    def _string(self, text: str, depth: int) -> Any:
        """Resolve the variables of one string; a lone variable keeps its value's type."""
        if "${" not in text:
            return text
        spans = [(a, b) for a, b in _variable_spans(text) if not _CFN_SUB.match(text[a:b])]
        if not spans:
            return text
        if len(spans) == 1 and spans[0] == (0, len(text)):
            return self._variable(text[2:-1], depth)
        pieces: list[str] = []
        last = 0
        for start, end in spans:
            pieces.append(text[last:start])
            value = self._variable(text[start + 2 : end - 1], depth)
            if isinstance(value, Mapping | list):
                raise Unresolvable(f"{text[start:end]} is not a string inside {text!r}")
            pieces.append(_scalar(value))
            last = end
            if sum(map(len, pieces)) > MAX_STRING:
                self._warn("serverless-variable-limit", LIMIT_MESSAGE)
                raise Unresolvable(f"{text[:80]!r} expands past {MAX_STRING} characters")
        pieces.append(text[last:])
        return "".join(pieces)

    def _variable(self, inner: str, depth: int) -> Any:
        """Evaluate ``a, b, 'c'`` (the text between ``${`` and ``}``): first defined wins."""
        self._steps += 1
        if self._steps > MAX_STEPS:
            self._warn("serverless-variable-limit", LIMIT_MESSAGE)
            raise Unresolvable(f"more than {MAX_STEPS} variables")
        parts = _split_top_level(inner)
        reasons: list[str] = []
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            try:
                value = self._source(part.strip(), depth, last)
            except Unresolvable as exc:
                reasons.append(exc.reason)
                continue
            if value is not None:
                return value
            reasons.append(f"${{{part.strip()}}} is not set")
        raise Unresolvable("${" + inner + "}" if len(reasons) != 1 else reasons[0])

    def _source(self, part: str, depth: int, last: bool) -> Any:
        quoted = _QUOTED.match(part)
        if quoted:
            return quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
        if _NUMBER.match(part):
            return part.strip()
        if "${" in part:  # nested: ${self:custom.${sls:stage}.table}
            resolved = self._string(part, depth + 1)
            if not isinstance(resolved, str):
                return resolved
            part = resolved
        if part.startswith("file("):
            return self._file(part, depth)
        kind, _, address = part.partition(":")
        kind = kind.strip()
        address = address.strip()
        if kind == "self":
            return self._self(address, depth + 1)
        if kind in ("opt", "sls", "aws"):
            return self._builtin(kind, address, last)
        if kind == "env":
            self._warn("serverless-env-variable",
                       "${env:…} is not resolved: the CI environment is not the deployment's")
            raise Unresolvable(f"${{env:{address}}}")
        if kind in _REMOTE or f"{kind}:{address}" in _REMOTE or kind.startswith(("cf.", "ssm.")):
            self._warn("serverless-remote-variable",
                       "variables read from AWS at deploy time (ssm, cf, s3, param) are not "
                       "resolved offline")
            raise Unresolvable(f"${{{part}}}")
        if kind == "strToBool":
            return address.strip().lower() == "true"
        self._warn("serverless-unknown-variable", "unknown variable source")
        raise Unresolvable(f"${{{part}}}")

    def _builtin(self, kind: str, address: str, last: bool) -> Any:
        if kind == "opt" and address == "stage":
            # Only a stage given for the scan counts as the CLI option; a later default wins.
            if self.stage or not last:
                return self.stage
            self._stage_guessed = True  # the deploy's --stage, not given here: dev stands in
            return self.effective_stage()
        if kind == "sls" and address == "stage":
            return self.effective_stage()
        if (kind, address) in (("opt", "region"), ("aws", "region")):
            return self.region
        if (kind, address) == ("aws", "accountId"):
            return self.account
        if kind == "opt":
            return None  # other CLI options were not given
        raise Unresolvable(f"${{{kind}:{address}}}")

    # -- self: and file() -----------------------------------------------------------------

    def _self(self, address: str, depth: int = 0) -> Any:
        address = address.strip()
        if address in self._memo:
            return self._memo[address]
        if address in self._active:
            self._warn("serverless-variable-cycle", "variables refer to each other in a cycle")
            raise Unresolvable(f"${{self:{address}}} refers to itself")
        if depth > MAX_DEPTH or len(self._active) > MAX_DEPTH:
            self._warn("serverless-variable-limit", LIMIT_MESSAGE)
            raise Unresolvable(f"${{self:{address}}} nests deeper than {MAX_DEPTH}")
        self._active.append(address)
        try:
            node: Any = self.document
            walked: list[str] = []
            for segment in _segments(address):
                walked.append(segment)
                if isinstance(node, str):  # e.g. custom: ${file(./custom.yml)}
                    node = self._string(node, depth + 1)
                node = _child(node, segment)
                if node is None:
                    return self._provider_default(address)
            value = self._deep(node, depth + 1)
        finally:
            self._active.pop()
        self._memo[address] = value
        return value

    def _provider_default(self, address: str) -> str | None:
        if not self.provider_defaults:
            return None
        if address == "provider.stage":
            return self.effective_stage()
        if address == "provider.region":
            return self.region  # the scan's: v1's own default is us-east-1 unless --region
        return None

    def _file(self, part: str, depth: int) -> Any:
        match = _FILE.match(part)
        if not match:
            raise Unresolvable(f"${{{part}}}")
        raw_path = match.group("path").strip().strip("'\"")
        target = (self.path.parent / raw_path).resolve()
        if not inside(target, self.root):
            self._warn("serverless-file-outside-repo",
                       "${file(…)} outside the repository is refused")
            raise Unresolvable(f"${{{part}}} is outside the repository")
        if target.suffix.lower() not in (".json", ".yml", ".yaml"):
            self._warn("serverless-file-not-data",
                       "${file(…)} of a script is not run; only JSON/YAML files are read")
            raise Unresolvable(f"${{{part}}}")
        shown = Path(os.path.normpath(self.path.parent / raw_path))
        document = self._load(target, part, shown)
        address = (match.group("address") or "").strip()
        node = document
        for segment in _segments(address) if address else []:
            node = _child(node, segment)
            if node is None:
                return None
        self._reading.append(str(shown))
        try:
            return self._deep(node, depth + 1)
        finally:
            self._reading.pop()

    def _load(self, target: Path, part: str, shown: Path) -> Any:
        if target not in self._files:
            if len(self._files) >= MAX_FILES:
                raise Unresolvable(f"${{{part}}}: more than {MAX_FILES} files")
            try:
                document = self.loader(target)
            except (OSError, LoadError) as exc:
                self._warn("serverless-file-unreadable", "${file(…)} could not be read")
                raise Unresolvable(f"${{{part}}}: {exc}") from None
            _mark_file(document, str(shown))
            self._files[target] = document
        return self._files[target]

    def _warn(self, code: str, message: str) -> None:
        self.notices.add(code, message, str(self.path))


def file_of(value: object) -> str | None:
    """The ``${file(…)}`` document a resolved mapping came from (``None``: this file)."""
    return getattr(value, "file", None)


def _mark_file(value: Any, shown: str, seen: set[int] | None = None) -> None:
    """Tag the mappings of a ``${file(…)}`` document so their lines name that file."""
    seen = set() if seen is None else seen
    if not isinstance(value, Mapping | list) or id(value) in seen:
        return  # a YAML alias shares its node: tagged once, not once per alias
    seen.add(id(value))
    if isinstance(value, LocatedDict):
        value.file = shown  # type: ignore[attr-defined]
    for item in value.values() if isinstance(value, Mapping) else value:
        _mark_file(item, shown, seen)


def _variable_spans(text: str) -> list[tuple[int, int]]:
    """The outermost ``${…}`` spans of ``text`` (nested braces balanced)."""
    spans: list[tuple[int, int]] = []
    i = 0
    while True:
        start = text.find("${", i)
        if start < 0:
            return spans
        depth = 0
        j = start
        while j < len(text):
            if text.startswith("${", j):
                depth += 1
                j += 2
                continue
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if depth != 0:
            return spans  # unbalanced: left as literal text
        spans.append((start, j + 1))
        i = j + 1


def _split_top_level(inner: str) -> list[str]:
    """Split ``a, ${b, c}, 'd,e'`` at the commas outside quotes and nested variables."""
    parts: list[str] = []
    depth = 0
    quote: str | None = None
    current: list[str] = []
    for ch in inner:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _segments(address: str) -> list[str]:
    return [s for s in re.split(r"\.|\[(\d+)\]", address) if s]


def _child(node: Any, segment: str) -> Any:
    if isinstance(node, Mapping):
        return node.get(segment)
    if isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
        return node[int(segment)]
    return None


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
