"""The one error type users can cause, and its service-failure variant.

Anything raised as :class:`UserError` is printed as a single line (no traceback) and
ends the process with its ``exit_code``; every other exception is a bug, reported as an
internal error (``EXIT_INTERNAL_ERROR``) with its traceback.
"""

from __future__ import annotations

import json

EXIT_PASS = 0
EXIT_GATE_FAILED = 1
EXIT_INPUT_ERROR = 2
EXIT_SERVICE_ERROR = 3
EXIT_INTERNAL_ERROR = 4  # a bug in leastpriv-ci: never a verdict on the pull request
ISSUES_URL = "https://github.com/leastpriv-ci/leastpriv-ci/issues"
MAX_EXCERPT = 60  # characters of an input value quoted back in a message
# Error codes AWS throttles with (X-Ray's, CloudFormation's and the query protocol's)
THROTTLED_CODES = frozenset({"ThrottledException", "ThrottlingException", "Throttling"})


class UserError(Exception):
    """Bad input, configuration or usage: the message names the input and what to do."""

    exit_code = EXIT_INPUT_ERROR

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ServiceError(UserError):
    """An AWS or GitHub service call failed (permissions, network, throttling past retries)."""

    exit_code = EXIT_SERVICE_ERROR


def excerpt(value: object) -> str:
    """``value`` as JSON, cut to :data:`MAX_EXCERPT` characters, to quote input back in a
    message: the input may be of any size and shape, and its Python type (a loader's
    ``LocatedDict``) means nothing to its author."""
    try:
        text = json.dumps(value, default=str)
    except (ValueError, RecursionError):  # a cycle, or nesting past Python's stack
        text = "(a value nested too deeply to show)"
    return cut(text)


def cut(text: str) -> str:
    """``text`` cut to :data:`MAX_EXCERPT` characters, ending "..." when it was longer."""
    return text if len(text) <= MAX_EXCERPT else text[:MAX_EXCERPT - 3] + "..."
