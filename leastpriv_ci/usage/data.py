"""The usage stage's bundled data files, read once per process."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def load(name: str) -> Any:
    """Parse ``leastpriv_ci/data/NAME`` (bundled, trusted YAML) once."""
    text = resources.files("leastpriv_ci").joinpath("data", name).read_text(encoding="utf-8")
    return yaml.safe_load(text)
