"""The ``--principal-map`` file: JSON ``{segment name: principal or role ARN}``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from leastpriv_ci.errors import UserError
from leastpriv_ci.loaders import LoadError, line_of, load_file


def load_principal_map(path: Path) -> Mapping[str, str]:
    """Read and check a principal map; raises :class:`UserError` naming the file and line."""
    try:
        data = load_file(path)
    except FileNotFoundError:
        raise UserError("principal map not found; pass an existing JSON file",
                        where=str(path)) from None
    except LoadError as exc:
        place = f"{path}:{exc.line}" if getattr(exc, "line", None) else str(path)
        raise UserError(f"principal map is not valid JSON: {exc}", where=place) from None
    if not isinstance(data, dict):
        raise UserError('principal map must be a JSON object {"segment name": "arn:..."}',
                        where=str(path))
    result: dict[str, str] = {}
    for name, arn in data.items():
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            line = line_of(data)
            raise UserError(f"segment {name!r} maps to {arn!r}, not an ARN; give the principal "
                            "or role ARN", where=f"{path}:{line}" if line else str(path))
        result[str(name)] = arn
    return result
