"""One module per ``leastpriv-ci`` subcommand.

Each module exposes ``NAME``, ``HELP``, ``configure(parser)`` and ``run(args) -> int``;
:mod:`leastpriv_ci.cli` discovers them, so adding a subcommand is adding a file.
"""

from __future__ import annotations
