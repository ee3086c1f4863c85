"""Each finding kind's severity and wording, read once from ``data/findings.yaml``.

The analysis decides *what* it found; this data decides how serious it is and how it
reads, so severities can be tuned without touching the checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from leastpriv_ci.bundled import load
from leastpriv_ci.catalog import ACCESS_LEVELS
from leastpriv_ci.codemarks import mark
from leastpriv_ci.records import SEVERITIES

UNKNOWN_LEVEL = "unknown"


@dataclass(frozen=True)
class KindRules:
    """One finding kind: severities and message/fix templates."""

    severity: str | Mapping[str, str]  # a fixed severity, or one per access level
    messages: Mapping[str, str]
    fixes: Mapping[str, str]
    conditional: str | None = None  # severity when a condition could not be decided
    critical: str | None = None  # severity for an Allow of everything on everything


@dataclass(frozen=True)
class FindingRules:
    """Severity and wording rules for every finding kind."""

    kinds: Mapping[str, KindRules]

    def severity(
        self, kind: str, access_level: str | None = None, *, conditional: bool = False,
        everything: bool = False,
    ) -> str:
        """The severity of a finding of ``kind`` about an action of ``access_level``."""
        rules = self.kinds[kind]
        if everything and rules.critical:
            return rules.critical
        if conditional and rules.conditional:
            return rules.conditional
        if isinstance(rules.severity, str):
            return rules.severity
        return rules.severity.get(access_level or UNKNOWN_LEVEL, rules.severity[UNKNOWN_LEVEL])

    def severities(self, kind: str) -> tuple[str, ...]:
        """Every severity a finding of ``kind`` can take, most severe first."""
        rules = self.kinds[kind]
        fixed = (rules.severity,) if isinstance(rules.severity, str) \
            else tuple(rules.severity.values())
        found = {*fixed, rules.conditional, rules.critical}
        return tuple(s for s in reversed(SEVERITIES) if s in found)

    def graded(self, kind: str) -> bool:
        """Whether findings of ``kind`` differ in severity (an ungraded kind has one fixed
        severity, which a severity floor must not read as a verdict on each finding)."""
        rules = self.kinds[kind]
        return not isinstance(rules.severity, str) or bool(rules.conditional or rules.critical)

    def message(self, kind: str, variant: str, **fields: object) -> str:
        return _fill(self.kinds[kind].messages[variant], fields)

    def fix(self, kind: str, variant: str, **fields: object) -> str:
        return _fill(self.kinds[kind].fixes[variant], fields)


_MARKED_FIELD = re.compile(r"`\{(\w+)\}`")


def _fill(template: str, fields: Mapping[str, object]) -> str:
    """``template`` with its fields; a field the template sets off as code (`` `{name}` ``)
    is fenced so that no backtick in its value ends the mark (:func:`codemarks.mark`)."""
    return _MARKED_FIELD.sub(lambda m: mark(fields[m.group(1)]).replace("{", "{{").replace(
        "}", "}}"), template).format(**fields)


def strongest_level(levels: Iterable[str | None]) -> str | None:
    """The most sensitive access level of several (unknown levels count as Write)."""
    best: str | None = None
    rank = -1
    for level in levels:
        position = ACCESS_LEVELS.index(level) if level in ACCESS_LEVELS else (
            ACCESS_LEVELS.index("Write"))
        if position > rank:
            best, rank = (level if level in ACCESS_LEVELS else UNKNOWN_LEVEL), position
    return best


def max_severity(severities: Iterable[str]) -> str:
    return max(severities, key=SEVERITIES.index, default="info")


@cache
def get_rules() -> FindingRules:
    """The process-wide finding rules, loaded on first use."""
    return rules_from(load("findings.yaml"))


def rules_from(document: Mapping[str, Any]) -> FindingRules:
    """Build the rules from a loaded ``findings.yaml`` document."""
    kinds = {}
    for name, raw in document["kinds"].items():
        kinds[str(name)] = KindRules(
            severity=raw["severity"],
            messages=dict(raw.get("messages") or {}),
            fixes=dict(raw.get("fixes") or {}),
            conditional=raw.get("conditional"),
            critical=raw.get("critical"),
        )
    return FindingRules(kinds)
