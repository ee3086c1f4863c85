"""``leastpriv-ci observe``: what each principal did, from X-Ray traces."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

import orjson

from leastpriv_ci.commands._observation import observe_from_args
from leastpriv_ci.records import Observation
from leastpriv_ci.report.escape import console
from leastpriv_ci.times import shown
from leastpriv_ci.traces.options import add_trace_arguments

NAME = "observe"
HELP = "print the IAM actions and resources each principal used, from X-Ray traces"
DESCRIPTION = (
    "Read X-Ray traces (exported files, or the X-Ray API over a time window) and print, "
    "per principal (Lambda function, ECS task definition, or what --principal-map names), "
    "the IAM actions and resource ARNs it used, how often, and which calls were denied."
)


def configure(parser: argparse.ArgumentParser) -> None:
    add_trace_arguments(parser)
    parser.add_argument("--principal-map", type=Path, metavar="FILE",
                        help='JSON {"segment name": "principal or role ARN"} for segments '
                        "that name no principal (EC2, ECS without ADOT)")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    """Observe, then print; input errors surface as :class:`UserError` (exit 2)."""
    observation = observe_from_args(args)
    if args.format == "json":
        sys.stdout.write(orjson.dumps(observation.to_json(), option=orjson.OPT_INDENT_2)
                         .decode() + "\n")
    else:
        render_text(observation, sys.stdout)
    return 0


def render_text(observation: Observation, out: TextIO) -> None:
    """A table per principal, then the warnings."""
    window = ""
    if observation.window:
        first, last = observation.window
        window = f", {shown(first)} to {shown(last)}"
    out.write(f"{observation.traces} traces, {len(observation.principals)} principals{window}\n")
    for arn, usage in sorted(observation.principals.items()):
        role = f" (role {console(usage.role)})" if usage.role else ""
        out.write(f"\n{console(arn)}{role} — {usage.traces} traces\n")
        rows = [(a, False) for a in usage.accesses] + [(a, True) for a in usage.possible]
        if not rows:
            out.write("  (no AWS calls)\n")
            continue
        width = max(len(console(a.action)) for a, _ in rows)
        out.write(f"  {'ACTION':<{width}}  {'COUNT':>6}  RESOURCE\n")
        for access, possible in rows:
            notes = []
            if possible:
                notes.append("possibly: the request or a KMS key decides")
            if access.denied:
                refused = "; ".join(console(r) for r in access.refused_by)
                notes.append(f"DENIED: {refused}" if refused else "DENIED")
            if not access.resource_known:
                notes.append("resource not in trace")
            suffix = f"  [{', '.join(notes)}]" if notes else ""
            out.write(f"  {console(access.action):<{width}}  {access.count:>6}  "
                      f"{console(access.resource)}{suffix}\n")
    if len(observation.notices):
        out.write("\nwarnings:\n")
        for notice in observation.notices.items():
            out.write(f"  {console(str(notice))}\n")
