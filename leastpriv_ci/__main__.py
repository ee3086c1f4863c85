"""``python -m leastpriv_ci``."""

from __future__ import annotations

import sys

from leastpriv_ci.cli import main

sys.exit(main())
