"""``leastpriv-ci generate``: a least-privilege policy per role or principal, from traces."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

import orjson

from leastpriv_ci.analysis.generate import documents, generate
from leastpriv_ci.analysis.platform import PlatformOptions
from leastpriv_ci.analysis.proposal import INLINE_LIMIT, MANAGED_LIMIT, Proposal
from leastpriv_ci.commands._observation import observe_from_args
from leastpriv_ci.records import Observation
from leastpriv_ci.report.escape import console
from leastpriv_ci.traces.options import add_trace_arguments

NAME = "generate"
HELP = "propose a least-privilege IAM policy per role or principal, from X-Ray traces"
DESCRIPTION = (
    "Read X-Ray traces (exported files with --traces, else the X-Ray API) and print, per "
    "role (when --principal-map or the trace names it) or else per principal, the "
    "smallest IAM policy allowing every call seen (denied calls included), with the "
    "permissions Lambda needs for its logs and X-Ray writes."
)
SCHEMA = 1


def configure(parser: argparse.ArgumentParser) -> None:
    add_trace_arguments(parser)
    parser.add_argument("--principal-map", type=Path, metavar="FILE",
                        help='JSON {"segment name": "principal or role ARN"}; a role ARN '
                        "makes the proposal per role")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--no-platform", action="store_true",
                        help="leave out the permissions AWS uses on the principal's behalf "
                        "(Lambda logs, X-Ray writes)")
    parser.add_argument("--inline", action="store_true",
                        help=f"fit inline policies ({INLINE_LIMIT} characters) instead of "
                        f"managed ones ({MANAGED_LIMIT})")


def run(args: argparse.Namespace) -> int:
    """Observe the traces, propose, print; input errors are :class:`UserError` (exit 2)."""
    observation = observe_from_args(args)
    proposals = generate(
        observation,
        platform=PlatformOptions(enabled=not args.no_platform),
        limit=INLINE_LIMIT if args.inline else MANAGED_LIMIT,
    )
    if args.format == "json":
        sys.stdout.write(orjson.dumps(to_json(proposals, observation),
                                      option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        render_text(proposals, observation, sys.stdout)
    return 0


def to_json(proposals: dict[str, Proposal], observation: Observation) -> dict[str, object]:
    """The ``generate --format json`` contract (DESIGN.md); extra keys are allowed."""
    notes = [f"{key}: {note}" for key, p in proposals.items() for note in p.notes]
    return {
        "schema": SCHEMA,
        "proposals": documents(proposals),
        "notes": notes,
        "warnings": [n.to_json() for n in observation.notices.items()],
    }


def render_text(proposals: dict[str, Proposal], observation: Observation, out: TextIO
                ) -> None:
    """Each policy under its role or principal, then notes and warnings."""
    out.write(f"{observation.traces} traces, {len(observation.principals)} principals\n")
    for key, doc in documents(proposals).items():
        out.write(f"\n{console(key)}\n")
        out.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    for key, proposal in proposals.items():
        for note in proposal.notes:
            out.write(f"note: {console(key)}: {console(note)}\n")
    if len(observation.notices):
        out.write("\nwarnings:\n")
        for notice in observation.notices.items():
            out.write(f"  {console(str(notice))}\n")
