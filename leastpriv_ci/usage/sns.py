"""SNS: a publish to a phone number (an SMS) is to no topic, and IAM authorizes it on ``*``."""

from __future__ import annotations

from leastpriv_ci.usage import generic
from leastpriv_ci.usage.extract import Call, Target

# OpenTelemetry's messaging.destination.name for an SMS: a placeholder, not the number
DESTINATION_FIELDS = ("messaging.destination.name",)
PHONE_PLACEHOLDER = "phone_number:"


def targets(call: Call) -> list[Target]:
    """The data-driven targets; an SMS publish, which names no topic, on ``*``."""
    found = generic.targets(call)
    if not _to_a_phone(call):
        return found
    return [Target(t.action, "*") if t.action == "sns:Publish" and not t.known else t
            for t in found]


def _to_a_phone(call: Call) -> bool:
    for name in DESTINATION_FIELDS:
        value = call.fields.text(name)
        if value is not None:
            return value.startswith(PHONE_PLACEHOLDER)
    return False
