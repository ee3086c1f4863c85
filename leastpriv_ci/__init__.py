"""leastpriv-ci: a least-privilege gate for AWS IAM roles, driven by X-Ray traces."""

from __future__ import annotations

__version__ = "0.1.0"
