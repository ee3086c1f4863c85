"""SDK subsegment names → IAM service prefixes (``sdk_services.yaml``, then the catalog's,
then the service IDs of ``sdk_names.json``).

Most SDKs name a service by its endpoint prefix or service ID, which for most services
is the IAM prefix spelled another way (``AppSync``, ``appsync``; ``CodeBuild``): any name
that is an IAM prefix once normalised resolves to it. The data file lists the names that
are not (``AmazonDynamoDBv2``, ``email`` for SES, ``monitoring`` for CloudWatch), and
wins where both have a spelling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, NamedTuple

from leastpriv_ci.bundled import load
from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.usage.fields import Fields

_NOT_ALNUM = re.compile(r"[^a-z0-9]")
# Java v1 names a service by its client class, the Ruby SDK by the model's abbreviation:
# AWS or Amazon, then the service, perhaps Client (``AWSCodeBuild``, ``AmazonTextract``,
# ``AmazonSQSClient``, ``AWS SFN``). Only such a name: a Lambda function invoked through
# ADOT gives its subsegment the function's name, and ``aws-managedblockchain`` is one.
_CLIENT_NAME = re.compile(r"^(?:AWS|Amazon) ?([A-Z][A-Za-z0-9 ]*?)(?:Client)?$")


def normalise(name: str) -> str:
    """Lower case, letters and digits only: ``Secrets Manager`` → ``secretsmanager``."""
    return _NOT_ALNUM.sub("", name.lower())


class Hint(NamedTuple):
    operation: str
    field: str
    service: str


class ServiceNames:
    """Resolves the many SDK spellings of a service to its IAM prefix, with a cache."""

    def __init__(self, raw: Mapping[str, Any], prefixes: Iterable[str] = (),
                 generated: Mapping[str, str] | None = None) -> None:
        """From the data file's spellings, the IAM prefixes (``prefixes``) they add to,
        and last the service IDs botocore's models give (``generated``: normalised
        spelling → prefix, ``sdk_names.json``)."""
        self._by_spelling: dict[str, str] = {}
        for prefix, spellings in raw["services"].items():
            for spelling in (prefix, *spellings):
                self._by_spelling[normalise(spelling)] = prefix
        for prefix in sorted(prefixes):
            self._by_spelling.setdefault(normalise(prefix), prefix)
        for spelling, prefix in (generated or {}).items():
            self._by_spelling.setdefault(spelling, prefix)
        self.service_fields: tuple[str, ...] = tuple(raw.get("service_fields") or ())
        self.hints = tuple(Hint(**h) for h in raw.get("operation_hints") or ())
        self._cache: dict[str, tuple[str | None, str | None]] = {}

    def _resolve(self, name: str) -> tuple[str | None, str | None]:
        """(the prefix the name spells, the prefix its SDK client name gives)."""
        try:
            return self._cache[name]
        except KeyError:
            spelled = self._by_spelling.get(normalise(name))
            client = _CLIENT_NAME.match(name) if spelled is None else None
            found = (spelled, self._by_spelling.get(normalise(client.group(1)))
                     if client is not None else None)
            if len(self._cache) < 10_000:  # names are few; a hostile file cannot grow this
                self._cache[name] = found
            return found

    def prefix(self, name: str) -> str | None:
        """The IAM prefix for a subsegment name, or None when it names no known service."""
        spelled, client = self._resolve(name)
        return spelled or client

    def candidates(self, name: str, operation: str, fields: Fields) -> list[str]:
        """The services one call may be to, most likely first: by a hint (an operation with
        its field: Invoke with a function name), by its name, by an explicit field, by its
        name read as an SDK client's (``AWSCodeBuild``). ADOT names a Lambda invoke after
        the function, and a function may be named like a service (``billing``,
        ``ConnectParticipant``): the caller takes the first whose IAM actions hold the
        operation."""
        found: list[str] = []
        # a hint first: its field is the call's own evidence (ADOT names a Lambda invoke
        # after the function, which may spell a service: ConnectParticipant)
        for hint in self.hints:
            if hint.operation == operation and fields.get(hint.field) is not None \
                    and hint.service not in found:
                found.append(hint.service)
        by_name, by_client_name = self._resolve(name)
        if by_name is not None and by_name not in found:
            found.append(by_name)
        for field in self.service_fields:
            value = fields.text(field)
            if value is not None:
                by_field = self.prefix(value)
                if by_field is not None and by_field not in found:
                    found.append(by_field)
        # a client's name last: a field or hint says more than a name read so
        if by_client_name is not None and by_client_name not in found:
            found.append(by_client_name)
        return found

    def spellings(self) -> dict[str, str]:
        return dict(self._by_spelling)


@cache
def service_names() -> ServiceNames:
    """The process-wide table."""
    return ServiceNames(load("sdk_services.yaml"), get_catalog().service_names,
                        load("sdk_names.json")["spellings"])
