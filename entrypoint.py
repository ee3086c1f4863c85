"""The container action's entry point: adapts the runner's environment to ``leastpriv-ci scan``.

Nothing here decides anything. Inputs arrive as ``INPUT_<NAME>`` with the name
upper-cased and hyphens kept (``INPUT_ROLE-TO-ASSUME``); the underscore spelling is
accepted too, and an empty value means "not set". Each input becomes the ``scan`` long
option of the same name. The GitHub token travels in the environment
(``LEASTPRIV_GITHUB_TOKEN``), never on the command line. With arguments of its own
(``entrypoint.py --help``, ``entrypoint.py observe …``) the image runs the plain CLI.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from pathlib import Path

from leastpriv_ci.github import TOKEN_VARIABLE

DEFAULT_WORKSPACE = "/github/workspace"

# Inputs passed as one ``--name value`` each.
SINGLE_INPUTS = (
    "role-to-assume",
    "aws-region",
    "role-session-name",
    "role-duration-seconds",
    "audience",
    "allowed-account-ids",
    "since",
    "start-time",
    "end-time",
    "filter-expression",
    "xray-group",
    "settle-time",
    "compare",
    "principal-map",
    "config-file",
    "fail-on",
    "max-excess",
    "min-severity",
    "comment",
    "comment-key",
    "matrix",
    "sarif-file",
    "report-file",
    "endpoint-url",
    "stack-name",
    "base-ref",
)
# Inputs holding several paths (newline- or comma-separated): one ``--name path`` per item.
MULTI_INPUTS = ("trace-files", "policy-paths")
# The config-file input's action.yml default: read when the repository has it, not required.
# Passing it on as --config-file would make a missing file an input error (exit 2).
DEFAULT_CONFIG_FILE = ".leastpriv.yml"
SEPARATORS = re.compile(r"[\r\n,]+")


def input_value(environ: Mapping[str, str], name: str) -> str | None:
    """The input ``name`` as the runner passes it, or ``None`` when unset or blank."""
    upper = name.upper()
    for variable in (f"INPUT_{upper}", f"INPUT_{upper.replace('-', '_')}"):
        value = environ.get(variable, "").strip()
        if value:
            return value
    return None


def split_list(value: str) -> list[str]:
    """Items of a multi-value input: newline- or comma-separated, blanks dropped."""
    return [item.strip() for item in SEPARATORS.split(value) if item.strip()]


def scan_argv(environ: Mapping[str, str]) -> list[str]:
    """The ``leastpriv-ci`` argument vector for the action's inputs."""
    argv = ["scan", "--github-actions"]
    for name in SINGLE_INPUTS:
        value = input_value(environ, name)
        if name == "config-file" and value is not None and _is_default_config(value):
            value = None
        if name == "since" and input_value(environ, "start-time") is not None:
            value = None  # documented: a start time wins over a duration
        if name == "settle-time" and (input_value(environ, "trace-files") is not None
                                      or value in ("0", "0s")):
            value = None  # documented: for the X-Ray API only; 0 is no wait
        if value is not None:
            argv.append(f"--{name}={value}")  # "=": a value may begin with "-"
    for name in MULTI_INPUTS:
        value = input_value(environ, name)
        for item in split_list(value or ""):
            argv.append(f"--{name}={item}")
    return argv


def _is_default_config(value: str) -> bool:
    return value.removeprefix("./") == DEFAULT_CONFIG_FILE


def prepare_environment(environ: MutableMapping[str, str]) -> None:
    """Move the token input into ``LEASTPRIV_GITHUB_TOKEN`` and drop it from ``INPUT_*``."""
    token = input_value(environ, "github-token")
    for variable in ("INPUT_GITHUB-TOKEN", "INPUT_GITHUB_TOKEN"):
        environ.pop(variable, None)
    if token:
        environ[TOKEN_VARIABLE] = token


def workspace(environ: Mapping[str, str]) -> Path | None:
    """Where the repository is checked out: ``GITHUB_WORKSPACE``, else the runner's mount."""
    configured = environ.get("GITHUB_WORKSPACE")
    if configured:
        return Path(configured)
    default = Path(DEFAULT_WORKSPACE)
    return default if default.is_dir() else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``scan`` for the action inputs, or the CLI with explicit arguments."""
    from leastpriv_ci.cli import main as cli_main
    from leastpriv_ci.cli import report_internal_error
    from leastpriv_ci.errors import EXIT_INPUT_ERROR, EXIT_INTERNAL_ERROR

    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments:
        return cli_main(arguments)
    try:
        code = _run_action(cli_main)
    except Exception as exc:  # a bug outside the CLI's own boundary
        report_internal_error(exc, actions=True)
        code = EXIT_INTERNAL_ERROR
    if code >= EXIT_INPUT_ERROR:
        # Exit codes 2-4 are `verdict=error`, even when a pass or fail was written before
        # the error struck (an unwritable summary, a folder at a report path): the last
        # value of an output wins. Workflows branch on it; it must not read "fail".
        _set_error_verdict(os.environ)
    return code


def _run_action(cli_main: Callable[[list[str]], int]) -> int:
    prepare_environment(os.environ)
    where = workspace(os.environ)
    if where is not None:
        try:
            os.chdir(where)
        except OSError as exc:
            print(f"leastpriv-ci: error: cannot enter the workspace {where}: {exc.strerror}",
                  file=sys.stderr)
            return 2
    try:
        return cli_main(scan_argv(os.environ))
    except SystemExit as exc:  # argparse rejecting an input value
        return exc.code if isinstance(exc.code, int) else 2


def _set_error_verdict(environ: Mapping[str, str]) -> None:
    from leastpriv_ci.errors import UserError
    from leastpriv_ci.runner import set_outputs

    # An unwritable outputs file already failed the run: the exit code says it.
    with contextlib.suppress(UserError):
        set_outputs({"verdict": "error"}, environ)


if __name__ == "__main__":
    sys.exit(main())
