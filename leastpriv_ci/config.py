"""Settings from CLI flags / action inputs, ``.leastpriv.yml`` and defaults, in that order.

The config file is loaded with the safe loader and validated once against
``data/config.schema.json``; an error names the file, the line and the key path. After
this edge, :class:`Settings` is the single source the scan reads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from leastpriv_ci.analysis.platform import PlatformOptions
from leastpriv_ci.bundled import load
from leastpriv_ci.errors import MAX_EXCERPT, UserError, cut, excerpt
from leastpriv_ci.gate import DEFAULT_FAIL_ON, DEFAULT_MIN_SEVERITY, GateRules, IgnoreRule
from leastpriv_ci.gate import baseline_keys as _baseline_keys
from leastpriv_ci.github import COMMENT_MODES, matrix_key
from leastpriv_ci.loaders import (
    LoadError,
    SafeLocatedLoader,
    load_file,
    loads_json,
    loads_yaml,
    read_text,
    value_lines,
)
from leastpriv_ci.records import FINDING_KINDS, SEVERITIES

DEFAULT_CONFIG_FILE = ".leastpriv.yml"
MAX_CONFIG_BYTES = 256 * 1024
COMPARE_MODES = ("declared", "attached", "both")
FORMATS = ("text", "json", "markdown", "sarif")

KeyPath = tuple[str | int, ...]


@cache
def config_schema() -> dict[str, Any]:
    """The JSON schema of ``.leastpriv.yml`` (loaded once)."""
    schema: dict[str, Any] = load("config.schema.json")
    return schema


@dataclass(frozen=True)
class ConfigFile:
    """A validated config file: its values and the line of every key."""

    path: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    lines: Mapping[KeyPath, int] = field(default_factory=dict)

    def where(self, *key: str | int) -> str:
        """``file:line`` of a key (or of its nearest located parent)."""
        for end in range(len(key), -1, -1):
            line = self.lines.get(key[:end])
            if line is not None:
                return f"{self.path}:{line}"
        return self.path or DEFAULT_CONFIG_FILE


def _node_lines(node: yaml.Node, prefix: KeyPath, out: dict[KeyPath, int]) -> None:
    out.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            out[(*prefix, key)] = key_node.start_mark.line + 1
            _node_lines(value_node, (*prefix, key), out)
            # A key's own line beats its value's (a nested mapping starts a line later).
            out[(*prefix, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, (*prefix, index), out)


def _plain(value: Any) -> Any:
    """YAML dates become ISO strings and mappings plain dicts, for schema validation."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _dotted(path: KeyPath) -> str:
    text = ""
    for part in path:
        if isinstance(part, str):  # a key is input too
            part = cut(part)
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def load_config(path: str | None, *, explicit: bool = False) -> ConfigFile:
    """Load and validate the config file at ``path``.

    A missing file is an error only when it was named explicitly (not the default).
    """
    if path is None:
        return ConfigFile()
    file = Path(path)
    _check_inside_checkout(file, path)
    if not file.is_file():
        if explicit:
            raise UserError(
                "config file not found; create it or drop --config-file", where=path
            )
        return ConfigFile()
    try:
        text = read_text(file, MAX_CONFIG_BYTES)
    except LoadError as exc:
        raise UserError(f"cannot read the config file: {exc}", where=path) from None
    return parse_config(text, path)


def parse_config(text: str, path: str, *, name: str | None = None) -> ConfigFile:
    """Parse and validate a config file's ``text``; ``path`` names it in messages. The
    file's own ``name`` (``path`` when not given: a message may name it otherwise, as
    ``PATH at REF``) decides its format: ``.json`` is JSON, any other YAML."""
    is_json = (path if name is None else name).lower().endswith(".json")
    lines: dict[KeyPath, int] = {}
    try:
        if not text.strip():
            data = {}
        elif is_json:
            # JSON is not read as YAML too: YAML refuses the tabs JSON may be indented with
            data = loads_json(text)
            lines.update(value_lines(text))
        else:
            data = loads_yaml(text)
            # Parsed a second time as nodes: they know the line of every key, not only maps.
            root = yaml.compose(text, Loader=SafeLocatedLoader)
            if root is not None:  # a file of only comments
                _node_lines(root, (), lines)
    except LoadError as exc:
        where = f"{path}:{exc.line}" if exc.line else path
        raise UserError(f"cannot parse the config file: {exc}", where=where) from None
    except yaml.YAMLError as exc:
        raise UserError(f"cannot parse the config file: {exc}", where=path) from None
    values = _plain(data if data is not None else {})
    config = ConfigFile(path=path, values=values, lines=lines)
    validator = jsonschema.Draft202012Validator(
        config_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(values), key=lambda e: list(map(str, e.path)))
    if errors:
        error = jsonschema.exceptions.best_match(errors) or errors[0]
        key: KeyPath = tuple(error.absolute_path)
        message = _schema_message(error)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            unexpected = [k for k in error.instance if k not in known]
            if unexpected:
                key = (*key, unexpected[0])
                name = cut(str(unexpected[0]))
                message = f"unknown key; see docs/config.md for the keys ({name!r} was unexpected)"
        raise UserError(
            f"{_dotted(key)}: {message}", where=config.where(*key)
        )
    return config


def _check_inside_checkout(file: Path, path: str) -> None:
    """A config file of the repository must stay in it: a pull request can commit
    ``.leastpriv.yml`` as a link to the runner's files, whose values an error would quote.

    Relative paths, and absolute ones into the checkout, name the repository's files;
    an absolute path elsewhere is the caller's own choice.
    """
    from leastpriv_ci.grants.checkout import checkout_root, inside

    here = Path.cwd()
    checkout = checkout_root(here)
    lexical = Path(os.path.normpath(here / file))
    if file.is_absolute() and not lexical.is_relative_to(checkout):
        return
    if (file.exists() or file.is_symlink()) and not inside(file, checkout):
        raise UserError(f"the config file resolves outside the checkout {checkout} (a "
                        "symbolic link or a .. path) and is not read; name a file of the "
                        "repository", where=path)
    if not file.is_absolute() and not lexical.is_relative_to(checkout):
        raise UserError(f"the config file is outside the checkout {checkout} and is not "
                        "read; name a file of the repository", where=path)


def _schema_message(error: Any) -> str:
    """jsonschema's message, with the offending value cut to an excerpt (it may be long,
    or a file's contents) and no regular expression quoted back."""
    instance = error.instance
    branches = list(error.context or ())
    if error.validator in ("anyOf", "oneOf") and branches \
            and all(branch.validator == "required" for branch in branches):
        # an ignore rule with neither of the keys it needs one of
        needed = [name for branch in branches for name in branch.validator_value]
        return f"needs {' or '.join(dict.fromkeys(needed))} (or both); see docs/config.md"
    if error.validator == "oneOf" and isinstance(instance, str):
        choices = [branch.validator_value for branch in branches if branch.validator == "enum"]
        if choices:  # a word out of a list: say which words there are
            return (f"{excerpt(instance)} is not one of "
                    f"{', '.join(str(choice) for choice in choices[0])}")
    if error.validator == "pattern" or (error.validator == "oneOf"
                                         and isinstance(instance, str)):
        return f"{excerpt(instance)} is not a valid value; see docs/config.md"
    message = str(error.message)
    shown = repr(instance)
    if len(shown) > MAX_EXCERPT and shown in message:
        message = message.replace(shown, excerpt(instance))
    return message


def parse_kinds(value: object, where: str) -> frozenset[str]:
    """``fail-on`` from a list, or a string separated by commas or line breaks (an action
    input written as a YAML block); ``none`` → nothing gates."""
    items = value if isinstance(value, list) else re.split(r"[,\r\n]", str(value))
    kinds = {str(item).strip().lower() for item in items if str(item).strip()}
    if kinds == {"none"}:
        return frozenset()
    if "none" in kinds:
        raise UserError("none means no finding kind gates: give it alone, or only kinds",
                        where=where)
    if not kinds:  # blank or "," would silently gate nothing: say "none" for that
        raise UserError(f"names no finding kind; use any of {', '.join(FINDING_KINDS)}, or "
                        "none to report without gating", where=where)
    unknown = sorted(kinds - set(FINDING_KINDS))
    if unknown:
        raise UserError(
            f"unknown finding kind(s) {', '.join(unknown)}; use any of "
            f"{', '.join(FINDING_KINDS)} or none",
            where=where,
        )
    return frozenset(kinds)


def _ignore_rules(config: ConfigFile) -> tuple[IgnoreRule, ...]:
    rules = []
    for index, item in enumerate(config.values.get("ignore", [])):
        kinds = item.get("kind", ())
        expires = item.get("expires")
        where = config.where("ignore", index)
        try:
            expiry = date.fromisoformat(expires) if expires else None
        except ValueError:
            raise UserError(
                f"ignore[{index}].expires: {expires!r} is not a date (YYYY-MM-DD)", where=where
            ) from None
        rules.append(
            IgnoreRule(
                reason=item["reason"],
                action=item.get("action", "*"),
                resource=item.get("resource", "*"),
                role=item.get("role", "*"),
                kinds=frozenset([kinds] if isinstance(kinds, str) else kinds),
                expires=expiry,
                where=where,
            )
        )
    return tuple(rules)


def load_baseline(path: str) -> GateRules:
    """Finding keys of a previous JSON report, as gate rules with only a baseline set."""
    try:
        document = load_file(Path(path))
    except FileNotFoundError:
        raise UserError("baseline report not found; give a JSON report file", where=path) from None
    except LoadError as exc:
        where = f"{path}:{exc.line}" if exc.line else path
        raise UserError(f"cannot read the baseline report: {exc}", where=where) from None
    if not isinstance(document, dict) or document.get("schema") != 1:
        raise UserError(
            "not a leastpriv-ci JSON report (expected an object with \"schema\": 1)", where=path
        )
    return GateRules(baseline=_baseline_keys(document), baseline_file=path)


@dataclass(frozen=True)
class Settings:
    """Every setting of a scan, after precedence: flags > config file > defaults."""

    config_file: str | None = None
    policy_paths: tuple[str, ...] = ()
    compare: str = "declared"
    region: str | None = None
    account: str | None = None
    stage: str | None = None
    principals: Mapping[str, str] = field(default_factory=dict)
    principal_map: str | None = None
    platform: PlatformOptions = field(default_factory=PlatformOptions)
    parameters: Mapping[str, str] = field(default_factory=dict)
    gate: GateRules = field(default_factory=GateRules)
    format: str = "text"
    report_file: str | None = None
    sarif_file: str | None = None
    output: str | None = None
    base_ref: str | None = None
    stack_name: str | None = None  # the CloudFormation stack naming the functions' roles
    comment: str = "update"
    comment_key: str = ""
    github_actions: bool = False

    @classmethod
    def from_sources(cls, flags: Mapping[str, Any], config: ConfigFile) -> Settings:
        """Merge CLI flags (``None`` = not given) over ``config`` over defaults."""
        values = config.values

        def pick(flag: str, key: str, default: Any) -> Any:
            given = flags.get(flag)
            if given is not None and given != [] and given != "":
                return given
            return values.get(key, default)

        fail_on_raw = pick("fail_on", "fail-on", None)
        fail_on_where = "--fail-on" if flags.get("fail_on") else config.where("fail-on")
        fail_on = (
            DEFAULT_FAIL_ON if fail_on_raw is None else parse_kinds(fail_on_raw, fail_on_where)
        )
        min_severity = str(pick("min_severity", "min-severity", DEFAULT_MIN_SEVERITY)).lower()
        if min_severity not in SEVERITIES:
            raise UserError(
                f"unknown severity {min_severity!r}; use one of {', '.join(SEVERITIES)}",
                where="--min-severity",
            )
        raw_max_excess = pick("max_excess", "max-excess", None)
        max_excess = (None if raw_max_excess in (None, "")
                      else _non_negative(raw_max_excess, "--max-excess"))
        baseline_file = pick("baseline", "baseline", None)
        baseline = load_baseline(str(baseline_file)) if baseline_file else GateRules()
        gate = GateRules(
            fail_on=fail_on,
            max_excess=max_excess,
            min_severity=min_severity,
            ignore=_ignore_rules(config),
            baseline=baseline.baseline,
            baseline_file=baseline.baseline_file,
        )
        paths = pick("policy_paths", "policy-paths", ())
        compare = str(pick("compare", "compare", "declared")).lower()
        if compare not in COMPARE_MODES:
            raise UserError(
                f"unknown compare mode {compare!r}; use one of {', '.join(COMPARE_MODES)}",
                where="--compare" if flags.get("compare") else config.where("compare"),
            )
        comment = str(flags.get("comment") or "update").lower()
        if comment not in COMMENT_MODES:
            raise UserError(
                f"unknown comment mode {comment!r}; use one of {', '.join(COMMENT_MODES)}",
                where="--comment",
            )
        output_format = str(flags.get("format") or "text")
        if output_format not in FORMATS:
            raise UserError(
                f"unknown format {output_format!r}; use one of {', '.join(FORMATS)}",
                where="--format",
            )
        # YAML 1.1 reads on/off as booleans; PlatformOptions maps them back to modes.
        platform = PlatformOptions.from_settings(
            dict(values.get("platform", {})), where=config.where("platform")
        )
        return cls(
            config_file=config.path,
            policy_paths=(paths,) if isinstance(paths, str) else tuple(paths),
            compare=compare,
            region=pick("region", "region", None),
            account=pick("account", "account", None),
            stage=pick("stage", "stage", None),
            principals=dict(values.get("principals", {})),
            principal_map=flags.get("principal_map"),
            platform=platform,
            parameters={k: str(v) for k, v in dict(values.get("parameters", {})).items()},
            gate=gate,
            format=output_format,
            report_file=flags.get("report_file"),
            sarif_file=flags.get("sarif_file"),
            output=flags.get("output"),
            base_ref=flags.get("base_ref"),
            stack_name=pick("stack_name", "stack-name", None),
            comment=comment,
            # a matrix job's own values tell its comment apart when no key is given
            comment_key=str(flags.get("comment_key") or "") or matrix_key(flags.get("matrix")),
            github_actions=bool(flags.get("github_actions")),
        )


def _non_negative(value: object, where: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise UserError(f"{value!r} is not a whole number", where=where) from None
    if number < 0:
        raise UserError(f"{number} is negative; use 0 or more", where=where)
    return number
