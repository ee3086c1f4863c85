"""Template values behind an ``Fn::If`` whose condition cannot be decided offline.

A condition on a parameter the pull request does not set cannot be decided: each branch
then counts, under its value of the condition (the stand-in Condition of
:mod:`leastpriv_ci.grants.undecided`), never one branch taken for the other and never
the whole value lost to an unresolved marker. CloudFormation templates (and the
CloudFormation inside a Serverless config) read their policies, attachments and
statements through :class:`Branches`.

Hostile templates share one node among the branches of many conditions through YAML
aliases: at most :data:`MAX_CONDITIONAL_BRANCHES` branches are followed in one property
(warning ``condition-undecided-capped``), and a shared node is read and copied once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from leastpriv_ci.grants.intrinsics import NO_VALUE, TemplateResolver
from leastpriv_ci.loaders import LocatedDict, line_of
from leastpriv_ci.notices import Notices

MAX_CONDITIONAL_BRANCHES = 64  # undecided Fn::If followed in one property
POLICY_UNDECIDED = "policy-undecided"
POLICY_UNDECIDED_TEXT = (
    "a role's policy, managed policy or statement holds only under a template condition "
    "that cannot be decided offline; it counts as conditional (set the parameters the "
    "condition depends on)")
CAPPED = "condition-undecided-capped"
CAPPED_TEXT = (f"past {MAX_CONDITIONAL_BRANCHES} undecided Fn::If in one property, the rest "
               "count nowhere")
# Statement keys an undecided Fn::If splits whole (see Branches.statement)
WHOLE_KEYS = ("NotAction", "NotResource", "Condition")

Held = dict[str, bool]  # a branch's undecided conditions → the value it takes


@dataclass
class Branches:
    """The branches of one template's values (``file`` names it in warnings)."""

    resolver: TemplateResolver
    notices: Notices
    file: str
    # id of a value asked about → the value (kept, so its id stays its own), and the
    # undecided conditions of the Fn::If in it
    _within: dict[int, tuple[Any, list[str]]] = field(default_factory=dict)

    def of(self, node: Any, line: int | None, code: str, message: str, subject: str, *,
           expand: bool = True) -> list[tuple[Any, Held]]:
        """The items of a list property (or the one value), as written (``Ref`` kept),
        with the decided ``Fn::If`` branches taken and ``AWS::NoValue`` dropped; each with
        the template conditions it holds under when an ``Fn::If`` cannot be decided
        offline (both branches then count, each under its value of the condition; the
        warning ``code`` names it). With ``expand``, another intrinsic standing for the
        whole list (a list parameter) is resolved; else it is kept as written."""
        found: list[tuple[Any, Held]] = []
        pending: list[tuple[Any, Held, int | None]] = [(node, {}, line)]
        expansions = 0
        while pending:
            value, conditions, at = pending.pop()
            chosen = self.resolver.choose(value, at)
            if expand and isinstance(chosen, Mapping) and not is_if(chosen):
                chosen = self.resolver.resolve(chosen, at)  # e.g. a list parameter
            absent = chosen is None or chosen is NO_VALUE  # a managed policy may attach to none
            for item in chosen if isinstance(chosen, list) else [] if absent else [chosen]:
                if not is_if(item):
                    found.append((item, conditions))
                    continue
                name, branches = short_condition(item), item["Fn::If"]
                item_line = line_of(item) or at
                well_formed = isinstance(branches, list) and len(branches) == 3
                if well_formed and name in conditions:  # under the same condition: decided
                    pending.append((branches[1 if conditions[name] else 2], conditions,
                                    item_line))
                    continue
                self.notices.add(code, message, f"{self.file}:{item_line}: {subject} If {name}")
                expansions += 1
                if expansions > MAX_CONDITIONAL_BRANCHES:  # a YAML alias shared by the
                    # branches of many conditions gives exponentially many: the rest count
                    # nowhere
                    self.notices.add(CAPPED, CAPPED_TEXT, f"{self.file}:{item_line}: {subject}")
                    break
                if well_formed:  # else CloudFormation refuses the template: nothing counts
                    pending += [(branches[2], {**conditions, name: False}, item_line),
                                (branches[1], {**conditions, name: True}, item_line)]
        return found

    def policies(self, node: Any, line: int | None, subject: str, *,
                 expand: bool = True) -> list[tuple[Any, Held]]:
        """A role's policies, managed policy ARNs or a policy's statements (see
        :meth:`of`)."""
        return self.of(node, line, POLICY_UNDECIDED, POLICY_UNDECIDED_TEXT, subject,
                       expand=expand)

    def splits(self, statements: Any) -> bool:
        """Whether a ``Statement`` value, one of its statements, or a value in a statement
        (or an intrinsic in one) holds an ``Fn::If`` that cannot be decided offline."""
        if not self.resolver.any_undecided():  # the usual case: nothing to split
            return False
        if self._holds(statements):
            return True
        for item in _listed(statements):
            if isinstance(item, Mapping) and (
                    self._undecided_in(item.get("Action"))
                    or self._undecided_in(item.get("Resource"))
                    or self.within(item.get("NotAction")) or self.within(item.get("NotResource"))
                    or self.within(item.get("Condition"))):
                return True
        return False

    def statement(self, statement: Any, conditions: Held,
                  subject: str) -> list[tuple[Any, Held]]:
        """A statement whose ``Action`` or ``Resource`` holds an undecided ``Fn::If`` as
        one statement per branch, each under its value, beside one with the other items:
        IAM matches a list when any item matches, so the parts together match what it
        does. ``NotAction``, ``NotResource`` and ``Condition`` are taken whole, once per
        value of their undecided conditions (parts of a ``NotResource`` list would match
        more)."""
        parts = [(statement, conditions)]
        for key in ("Action", "Resource"):
            split: list[tuple[Any, Held]] = []
            for part, held in parts:
                value = part.get(key) if isinstance(part, Mapping) else None
                if not self._undecided_in(value):
                    split.append((part, held))
                    continue
                items = [variant for item, more in self.policies(
                             value, line_of(part), f"{subject} {key}", expand=False)
                         for variant in self.variants(item, more, f"{subject} {key}")]
                plain = [item for item, more in items if not more]
                if plain:
                    split.append((with_key(part, key, plain), held))
                split.extend((with_key(part, key, [item]), {**held, **more})
                             for item, more in items
                             if more and all(held.get(c, v) == v for c, v in more.items()))
            parts = split
        for key in WHOLE_KEYS:
            whole_split: list[tuple[Any, Held]] = []
            for part, held in parts:
                whole = part.get(key) if isinstance(part, Mapping) else None
                variants = self.variants(whole, held, f"{subject} {key}") \
                    if self.within(whole) else None
                if variants is None or variants == [(whole, held)]:  # or past the cap
                    whole_split.append((part, held))
                else:
                    whole_split += [(with_key(part, key, value), more)
                                    for value, more in variants]
            parts = whole_split
        return parts

    def variants(self, value: Any, conditions: Held, subject: str) -> list[tuple[Any, Held]]:
        """A value (an ``Action``/``Resource`` item, or a whole ``NotResource``,
        ``Condition``…) holding an ``Fn::If`` that cannot be decided offline, once for
        each value of those conditions, each under its values (and ``conditions``); any
        other value as it is."""
        within = self.within(value)
        if not within:
            return [(value, conditions)]
        names = [name for name in within if name not in conditions]  # the others are taken
        where = f"{self.file}:{line_of(value) or '?'}: {subject}"
        if 2 ** len(names) > MAX_CONDITIONAL_BRANCHES:
            self.notices.add(CAPPED, CAPPED_TEXT, where)
            return [(value, conditions)]  # resolved as written: an unresolved value
        if names:
            self.notices.add(POLICY_UNDECIDED, POLICY_UNDECIDED_TEXT,
                             f"{where} If {', '.join(names)}")
        return [(assume(value, held), held)
                for values in product((True, False), repeat=len(names))
                for held in [{**conditions, **dict(zip(names, values, strict=True))}]]

    def within(self, value: Any) -> list[str]:
        """The conditions that cannot be decided offline of the ``Fn::If`` in ``value``,
        at any depth (each node read once: YAML aliases share nodes). Asked of every
        statement's values, and again as they split: answered once per value, and with
        concrete type checks (loaded templates hold dicts and lists)."""
        if not isinstance(value, dict | list):  # a plain value: the usual case, at once
            return []
        known = self._within.get(id(value))
        if known is not None:
            return known[1]
        names: list[str] = []
        seen: set[int] = set()
        pending: list[Any] = [value]
        while pending:
            node = pending.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            items: Iterable[Any] = node
            if isinstance(node, dict):
                argument = node.get("Fn::If") if len(node) == 1 else None
                if not (isinstance(argument, list) and len(argument) == 3
                        and isinstance(argument[0], str)):
                    items = node.values()
                elif (decided := self.resolver.condition(argument[0])) is not None:
                    items = (argument[1] if decided else argument[2],)
                else:
                    names += [] if argument[0] in names else [argument[0]]
                    items = argument[1:]
            pending += [item for item in items if isinstance(item, dict | list)]
        self._within[id(value)] = (value, names)
        return names

    def _undecided_in(self, value: Any) -> bool:
        """Whether an ``Action``/``Resource`` value holds an ``Fn::If`` that cannot be
        decided offline: as an item (told at once), or inside an item's intrinsic."""
        return self._holds(value) or bool(self.within(value))

    def _holds(self, value: Any) -> bool:
        """Whether a value, or an item of it, is an ``Fn::If`` whose condition (or one
        nested in its branches) cannot be decided offline."""
        for item in _listed(value):
            while is_if(item):
                argument = item["Fn::If"]
                if not (isinstance(argument, list) and len(argument) == 3
                        and isinstance(argument[0], str)):
                    break  # malformed: resolved as written, to an unresolved value
                decided = self.resolver.condition(argument[0])
                if decided is None:
                    return True
                item = argument[1] if decided else argument[2]
        return False


def assume(value: Any, conditions: Mapping[str, bool],
           copies: dict[int, Any] | None = None) -> Any:
    """``value`` with each ``Fn::If`` on one of ``conditions`` replaced by the branch its
    value takes. A node shared through YAML aliases is copied once (``copies``), so the
    copy is no larger than the template; the template's depth is bounded where it loads."""
    if not isinstance(value, Mapping | list):
        return value
    copies = {} if copies is None else copies
    copied = copies.get(id(value))
    if copied is not None:
        return copied
    if isinstance(value, list):
        copied = [assume(item, conditions, copies) for item in value]
    else:
        argument = value["Fn::If"] if is_if(value) else None
        if isinstance(argument, list) and len(argument) == 3 and isinstance(argument[0], str) \
                and argument[0] in conditions:
            copied = assume(argument[1 if conditions[argument[0]] else 2], conditions, copies)
        else:
            copied = LocatedDict({key: assume(item, conditions, copies)
                                  for key, item in value.items()})
            copied.line = line_of(value)
    copies[id(value)] = copied
    return copied


def with_key(mapping: Mapping[str, Any], key: str, value: Any) -> LocatedDict:
    """A copy of ``mapping`` (its line kept) with ``key`` set to ``value``."""
    copied = LocatedDict(mapping)
    copied.line = line_of(mapping)
    copied[key] = value
    return copied


def is_if(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and "Fn::If" in value


def short_condition(value: Mapping[str, Any]) -> str:
    argument = value["Fn::If"]
    return str(argument[0]) if isinstance(argument, list) and argument else "?"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
