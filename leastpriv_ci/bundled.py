"""The data files bundled in ``leastpriv_ci/data``: AWS knowledge kept as data, each read
once per process (callers must not change what they get)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def load(name: str) -> Any:
    """Parse ``leastpriv_ci/data/NAME`` (trusted): JSON by its ``.json`` suffix, else YAML."""
    text = resources.files("leastpriv_ci").joinpath("data", name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
