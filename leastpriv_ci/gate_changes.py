"""What a pull request changes in its own gate.

The config file is pull-request text: a change to it decides the very check that judges
the change. With a base commit given, the config file as the base holds it is read too,
with the same flags (the workflow's inputs), and every setting that decides the verdict
is compared. The report then names each change, and says when the base's settings would
have failed the check that the pull request's own settings pass.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from leastpriv_ci.config import MAX_CONFIG_BYTES, ConfigFile, Settings, parse_config
from leastpriv_ci.errors import UserError
from leastpriv_ci.gate import GateRules, IgnoreRule, baseline_keys, decide
from leastpriv_ci.git import file_at
from leastpriv_ci.loaders import MAX_FILE_BYTES, LoadError, loads_json, loads_yaml
from leastpriv_ci.notices import Notices
from leastpriv_ci.records import Analysis, Verdict

MAX_RULES_NAMED = 3  # new ignore rules named in a change; the rest are counted


@dataclass(frozen=True)
class GateChange:
    """One setting the pull request changes: its value at the base and at the head."""

    setting: str
    base: str
    head: str

    def to_json(self) -> dict[str, str]:
        return {"setting": self.setting, "base": self.base, "head": self.head}

    def describe(self) -> str:
        return f"{self.setting}: {self.base} → {self.head}"


@dataclass(frozen=True)
class GateReview:
    """The gate's changes, and the verdict the base's settings give on the same findings."""

    config_file: str
    changes: tuple[GateChange, ...]
    base_verdict: Verdict

    def to_json(self) -> dict[str, object]:
        return {"config_file": self.config_file,
                "changes": [c.to_json() for c in self.changes],
                "base_verdict": self.base_verdict.name,
                "base_reasons": list(self.base_verdict.reasons)}


def base_config(root: Path, ref: str, path: str) -> ConfigFile:
    """The config file at ``path`` (relative to ``root``) as commit ``ref`` holds it; an
    empty one when the base has none."""
    data = file_at(root, ref, path, MAX_CONFIG_BYTES)
    if data is None:
        return ConfigFile()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text (byte {exc.start})", where=f"{path} at {ref}") from None
    return parse_config(text, f"{path} at {ref}", name=path)


def base_baseline(root: Path, ref: str, rules: GateRules) -> GateRules:
    """``rules`` with their baseline report as commit ``ref`` holds it: the report is
    pull-request text too, read from the checkout by the settings. A report the base
    lacks accepts no finding; one outside ``root`` is left as read."""
    name = rules.baseline_file
    if name is None:
        return rules
    path = Path(name) if Path(name).is_absolute() else root / name
    if not path.resolve().is_relative_to(root.resolve()):
        return rules
    relative = path.resolve().relative_to(root.resolve()).as_posix()
    data = file_at(root, ref, relative, MAX_FILE_BYTES)
    if data is None:
        return replace(rules, baseline=frozenset())
    where = f"{name} at {ref}"
    try:
        text = data.decode("utf-8")
        document = loads_json(text) if name.lower().endswith(".json") else loads_yaml(text)
    except (UnicodeDecodeError, LoadError) as exc:
        raise UserError(f"cannot read the baseline report: {exc}", where=where) from None
    if not isinstance(document, dict) or document.get("schema") != 1:
        raise UserError('not a leastpriv-ci JSON report (expected an object with "schema": 1)',
                        where=where)
    return replace(rules, baseline=baseline_keys(document))


def review_gate(
    analysis: Analysis, flags: dict[str, Any], head: Settings, base: ConfigFile, *,
    today: date, config_file: str, at: tuple[Path, str] | None = None,
) -> GateReview | None:
    """The pull request's changes to the gate, or ``None`` when it changes none (``at``:
    the checkout's root and the base commit, to read the baseline report there too)."""
    base_rules = Settings.from_sources(flags, base).gate
    if at is not None:
        base_rules = base_baseline(*at, base_rules)
    changes = changed_settings(base_rules, head.gate)
    if not changes:
        return None
    # The base's own notices (an expired rule) are not this run's
    verdict, _ = decide(replace(analysis, notices=Notices()), base_rules, today=today)
    return GateReview(config_file, changes, verdict)


def changed_settings(base: GateRules, head: GateRules) -> tuple[GateChange, ...]:
    """Each setting that decides the verdict and differs, in the order the config has them."""
    changes: list[GateChange] = []

    def compare(setting: str, old: str, new: str) -> None:
        if old != new:
            changes.append(GateChange(setting, old, new))

    compare("fail-on", _kinds(base.fail_on), _kinds(head.fail_on))
    compare("max-excess", _unset(base.max_excess), _unset(head.max_excess))
    compare("min-severity", base.min_severity, head.min_severity)
    compare("baseline", _unset(base.baseline_file), _unset(head.baseline_file))
    if base.baseline_file == head.baseline_file and base.baseline != head.baseline:
        old_keys, new_keys = base.baseline or frozenset(), head.baseline or frozenset()
        changes.append(GateChange(
            "baseline", f"{head.baseline_file}: {_findings(len(old_keys))}",
            f"{head.baseline_file}: {_findings(len(new_keys))}, "
            f"{len(new_keys - old_keys)} new"))
    old_rules = {_rule_identity(r) for r in base.ignore}
    new_rules = [r for r in head.ignore if _rule_identity(r) not in old_rules]
    dropped = len(old_rules - {_rule_identity(r) for r in head.ignore})
    if new_rules or dropped:
        named = "; ".join(r.describe() for r in new_rules[:MAX_RULES_NAMED])
        more = len(new_rules) - MAX_RULES_NAMED
        added = (f", new: {named}" + (f" and {more} more" if more > 0 else "")
                 if new_rules else "")
        changes.append(GateChange("ignore", _rules(len(base.ignore)),
                                  _rules(len(head.ignore)) + added))
    return tuple(changes)


def _rule_identity(rule: IgnoreRule) -> tuple[object, ...]:
    """A rule as it matches, not where it is: a line moved is not a change."""
    return (rule.action.lower(), rule.resource, rule.role, rule.kinds, rule.expires)


def _kinds(kinds: frozenset[str]) -> str:
    return ",".join(sorted(kinds)) or "none"


def _unset(value: object) -> str:
    return "unset" if value is None else str(value)


def _findings(count: int) -> str:
    return f"{count} finding" + ("" if count == 1 else "s")


def _rules(count: int) -> str:
    return f"{count} rule" + ("" if count == 1 else "s")
