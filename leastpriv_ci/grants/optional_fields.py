"""Parts of a resource's name or ARN that its declaration may leave out.

An EventBridge rule on the default bus is ``rule/NAME``; on a custom bus it is
``rule/BUS/NAME``. Templates in the knowledge files write such a part as ``{Field/}``
(or ``{Field|}``): the field's value and that separator, or nothing when the field is
unset or names the part's default. The field may also be given as an ARN in the scan's
account and Region, which stands for the name after its prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# A template's fields: ``{name}``, and ``{Field/}``/``{Field|}`` for optional parts
FIELD = re.compile(r"\{(\w+[|/]?)\}")


@dataclass(frozen=True)
class OptionalField:
    """How ``{Field|}`` and ``{Field/}`` read a field that may be left out."""

    omitted: str  # the value that counts as left out (an event bus's ``default``)
    arn: str  # its ARN form's prefix, a template of the location; the name follows it

    def part(self, value: str, separator: str, location: Mapping[str, str]) -> str | None:
        """The part ``value`` makes, separator included; None for an ARN in another
        account or Region (the resource is then created there, not here)."""
        prefix = self.arn.format_map(location)
        if value.startswith(prefix):
            value = value[len(prefix):]
        elif value.startswith("arn:"):
            return None
        return "" if value == self.omitted else value + separator


def optional_fields(raw: Mapping[str, Any]) -> dict[str, OptionalField]:
    """The rules of a knowledge file's ``optional`` table, by field name."""
    return {name: OptionalField(entry["omitted"], entry["arn"])
            for name, entry in raw.items() if not name.startswith("_")}


def split_field(field: str) -> tuple[str, str]:
    """``EventBusName/`` → (``EventBusName``, ``/``); a plain field has no separator."""
    name = field.rstrip("|/")
    return name, field[len(name):]
