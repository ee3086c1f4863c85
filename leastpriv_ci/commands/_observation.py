"""The step ``observe`` and ``generate`` share: read the traces the flags name, observe."""

from __future__ import annotations

import argparse

from leastpriv_ci.errors import UserError
from leastpriv_ci.notices import Notices
from leastpriv_ci.records import Observation
from leastpriv_ci.traces.options import open_traces
from leastpriv_ci.usage import observe
from leastpriv_ci.usage.principal_map import load_principal_map


def observe_from_args(args: argparse.Namespace) -> Observation:
    """Observe the trace source named by the flags; finding no trace at all is an error."""
    principal_map = load_principal_map(args.principal_map) if args.principal_map else None
    notices = Notices()
    observation = observe(open_traces(args, notices), principal_map=principal_map,
                          notices=notices)
    if observation.traces == 0:
        where = " ".join(str(p) for p in args.traces) if args.traces else "X-Ray API"
        raise UserError("no traces found; check the file names and format, or the X-Ray "
                        "time window and filter", where=where)
    return observation
