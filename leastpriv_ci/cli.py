"""The ``leastpriv-ci`` command line: subcommand dispatch and the error boundary."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import shlex
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

from leastpriv_ci import __version__, commands
from leastpriv_ci.errors import (
    EXIT_INPUT_ERROR,
    EXIT_INTERNAL_ERROR,
    EXIT_SERVICE_ERROR,
    ISSUES_URL,
    UserError,
)
from leastpriv_ci.github import TOKEN_VARIABLE
from leastpriv_ci.report.escape import console

FORMATS = ("text", "json", "markdown", "sarif")

GATE_FAILED = "  1  the gate failed (findings past the configured threshold, or nothing verified)\n"
EPILOG = """exit codes:
  0  pass
""" + GATE_FAILED + """\
  2  usage, configuration or input error
  3  an AWS service call failed (or, in Actions, the GitHub OIDC token request)
  4  internal error: a bug in leastpriv-ci (the traceback is printed; please report it)
"""
# For the commands that have no gate (a module without GATES = True): 1 is never theirs
EPILOG_NO_GATE = EPILOG.replace("  0  pass\n", "  0  done\n").replace(GATE_FAILED, "")
# Secrets the process may hold in its environment: never part of an error report.
SECRET_VARIABLES = (
    TOKEN_VARIABLE,
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
)


def _command_modules() -> list[ModuleType]:
    found = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            found.append(module)
    return found


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every discovered subcommand."""
    parser = argparse.ArgumentParser(
        prog="leastpriv-ci",
        description="Compare what AWS principals did (X-Ray traces) with what their IAM "
        "roles allow.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        child = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            epilog=EPILOG if getattr(module, "GATES", False) else EPILOG_NO_GATE,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(child)
        child.set_defaults(_run=module.run, _parser=child)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (see ``EPILOG``)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # told with the command's own usage
        chosen: argparse.ArgumentParser = getattr(args, "_parser", parser)
        chosen.error(f"unrecognized arguments: {' '.join(extra)}{_hint(args, extra)}")
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return EXIT_INPUT_ERROR
    try:
        code: int = args._run(args)
    except UserError as exc:
        report_user_error(exc, actions=bool(getattr(args, "github_actions", False)))
        return exc.exit_code
    except KeyboardInterrupt:
        print("leastpriv-ci: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        service_failure_message = service_failure(exc)
        if service_failure_message is None:
            report_internal_error(exc, actions=bool(getattr(args, "github_actions", False)))
            return EXIT_INTERNAL_ERROR
        print(f"leastpriv-ci: error: {console(service_failure_message)}", file=sys.stderr)
        return EXIT_SERVICE_ERROR
    return code


def _hint(args: argparse.Namespace, extra: Sequence[str]) -> str:
    """What was meant by trace files given without --traces (``observe traces.json``)."""
    if not hasattr(args, "traces") or not all(
            not e.startswith("-") and Path(e).exists() for e in extra):
        return ""
    return "; trace files go after --traces: " + " ".join(
        f"--traces {shlex.quote(e)}" for e in extra)


def report_user_error(exc: UserError, *, actions: bool) -> None:
    """Print a user error on one line; in Actions also as an ``::error::`` annotation, so
    the run's page says why it failed without opening the log."""
    # messages quote input (file names, config values): one line, always
    message = console(str(exc))
    if actions:
        from leastpriv_ci.runner import command

        print(command("error", message, title="leastpriv-ci"), flush=True)
    print(f"leastpriv-ci: error: {message}", file=sys.stderr)


def report_internal_error(
    exc: BaseException, *, actions: bool, environ: Mapping[str, str] | None = None
) -> None:
    """Say that ``exc`` is a bug (not a verdict), with its traceback for the bug report.

    In Actions the one-line summary is an ``::error::`` annotation, and the traceback —
    which can quote the pull request's files — is printed with workflow commands
    suspended. Secret values from the environment are blanked out of both.
    """
    env = os.environ if environ is None else environ
    secrets = [env[name] for name in SECRET_VARIABLES if len(env.get(name, "")) >= 4]

    def redact(value: str) -> str:
        for secret in secrets:
            value = value.replace(secret, "***")
        return value

    what = redact(console(f"{type(exc).__name__}: {exc}"))
    summary = (f"internal error (a bug in leastpriv-ci {__version__}, not a verdict on the "
               f"pull request): {what}. Please report it at {ISSUES_URL} with the traceback "
               "printed in this log.")
    trace = redact("".join(traceback.format_exception(exc)))
    if actions:
        from leastpriv_ci.runner import command, stop_commands

        print(command("error", f"leastpriv-ci {summary}", title="leastpriv-ci internal error"),
              flush=True)
        with stop_commands(sys.stderr):
            sys.stderr.write(trace)
    else:
        print(f"leastpriv-ci: {summary}", file=sys.stderr)
        sys.stderr.write(trace)
    sys.stderr.flush()


def service_failure(exc: Exception) -> str | None:
    """A one-line message for an AWS SDK failure that no stage translated, else None."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 is a core dependency
        return None
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        op = exc.operation_name
        return f"AWS call {op} failed: {error.get('Code')}: {error.get('Message')}"
    if isinstance(exc, BotoCoreError):
        return f"AWS SDK failure: {exc}"
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
