"""``leastpriv-ci demo``: the whole product on an embedded staging, no AWS account needed."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from leastpriv_ci.emulator import running_emulator
from leastpriv_ci.errors import EXIT_PASS

NAME = "demo"
GATES = True  # exits 1 when the gate fails
HELP = "run the notes-app on a local AWS emulator, trace it, and scan it like the action does"
DESCRIPTION = (
    "Deploys examples/notes-app to a local AWS emulator (moto, on 127.0.0.1), runs the "
    "app's integration tests with the real X-Ray SDK recording every call, then runs "
    "`leastpriv-ci scan` against the emulator's X-Ray API and the pull request's template, "
    "and prints the pull-request comment. Never touches real AWS."
)


def configure(parser: argparse.ArgumentParser) -> None:
    from leastpriv_ci.demo.scenarios import SCENARIOS

    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="baseline",
                        help="which pull request to play (default: baseline)")
    parser.add_argument("--app", type=Path, help="the notes-app folder (default: found)")
    parser.add_argument("--format", choices=("markdown", "text", "json"), default="markdown",
                        help="what scan prints (default: the PR comment in markdown)")
    parser.add_argument("--out", type=Path, default=Path("leastpriv-demo"),
                        help="folder for each scenario's report.json and report.sarif")
    parser.add_argument("--port", type=int, default=0,
                        help="emulator port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--gate", action="store_true",
                        help="exit with the last scan's gate result instead of 0")


def run(args: argparse.Namespace) -> int:
    from leastpriv_ci.cli import main as cli_main
    from leastpriv_ci.demo.recording import LambdaTracer
    from leastpriv_ci.demo.scenarios import SCENARIOS, find_app, run_staging

    app = find_app(args.app).resolve()
    chosen = list(SCENARIOS.values()) if args.scenario == "all" else [SCENARIOS[args.scenario]]
    # Only dummy credentials exist in this process: nothing can reach a real account.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    code = EXIT_PASS
    with running_emulator(port=args.port, managed_policies=True) as emulator:
        # Every AWS client in this process, the scan's included, talks to the emulator.
        os.environ["AWS_ENDPOINT_URL"] = emulator.endpoint_url
        os.environ["AWS_DEFAULT_REGION"] = emulator.region
        tracer = LambdaTracer()
        for scenario in chosen:
            staged = run_staging(scenario, app, emulator, tracer)
            _say(f"scenario {scenario.name}: {scenario.title}")
            _say(f"  staging: {staged.invocations} invocations, {staged.documents} segment "
                 f"documents sent to X-Ray at {emulator.endpoint_url}")
            for failure in staged.failures:
                _say(f"  integration test failed: {failure}")
            out = args.out.resolve() / scenario.name
            out.mkdir(parents=True, exist_ok=True)
            # The app folder is the scan's repository, as a checkout is the action's: the
            # findings name "template.yaml:70", and no config of the caller's applies.
            with contextlib.chdir(app):
                code = cli_main([
                    "scan",
                    "--endpoint-url", emulator.endpoint_url,
                    "--aws-region", emulator.region,
                    "--start-time", _iso(staged.started - 60),
                    "--end-time", _iso(staged.ended + 60),
                    "--policy-paths", str(staged.proposed_template),
                    "--compare", "both",
                    "--format", args.format,
                    "--report-file", str(out / "report.json"),
                    "--sarif-file", str(out / "report.sarif"),
                ])
            _say(f"  report: {args.out / scenario.name / 'report.json'} (scan exit code {code})")
    return code if args.gate else EXIT_PASS


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds")


def _say(message: str) -> None:
    print(message, file=sys.stderr)
