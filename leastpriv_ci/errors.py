"""The one error type users can cause, and its service-failure variant.

Anything raised as :class:`UserError` is printed as a single line (no traceback) and
ends the process with its ``exit_code``; every other exception is a bug, reported as an
internal error (``EXIT_INTERNAL_ERROR``) with its traceback.
"""

from __future__ import annotations

EXIT_PASS = 0
EXIT_GATE_FAILED = 1
EXIT_INPUT_ERROR = 2
EXIT_SERVICE_ERROR = 3
EXIT_INTERNAL_ERROR = 4  # a bug in leastpriv-ci: never a verdict on the pull request
ISSUES_URL = "https://github.com/leastpriv-ci/leastpriv-ci/issues"


class UserError(Exception):
    """Bad input, configuration or usage: the message names the input and what to do."""

    exit_code = EXIT_INPUT_ERROR

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ServiceError(UserError):
    """An AWS or GitHub service call failed (permissions, network, throttling past retries)."""

    exit_code = EXIT_SERVICE_ERROR
