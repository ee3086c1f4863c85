"""Where ``terraform init`` put the modules a configuration calls from a registry or git:
``.terraform/modules/modules.json`` beside the root module lists each call by its key
(``fn``, ``fn.inner`` for a call inside the module ``fn`` calls) with the folder it was
downloaded to. A workflow that deploys its staging stack with Terraform has run
``terraform init`` in its workspace before the scan, so those folders are there to read,
as local modules are.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from leastpriv_ci.grants.checkout import inside
from leastpriv_ci.loaders import LoadError, loads_json, read_text

MANIFEST = Path(".terraform") / "modules" / "modules.json"
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_ENTRIES = 2000


def downloaded_folder(caller: Path, name: str, repository: Path) -> Path | None:
    """The folder ``terraform init`` downloaded the module that ``caller`` (a ``.tf``
    file) calls as ``name`` to, when a manifest inside ``repository`` lists it (None
    otherwise, or when it lies outside the checkout)."""
    folder = caller.parent.resolve()
    for root in (folder, *folder.parents):
        if not inside(root, repository):
            return None
        entries = _manifest(root, repository)
        if entries:
            keys = [key for key, place in entries.items() if place == folder]
            if root == folder:
                keys.append("")  # the root module, whether the manifest lists it or not
            for key in keys:
                found = entries.get(f"{key}.{name}" if key else name)
                if found is not None and found.is_dir() and inside(found, repository):
                    return found
            return None
    return None


def downloaded_folders(root: Path, repository: Path) -> list[Path]:
    """The folders of the modules the manifest beside the root module ``root`` lists
    that lie inside ``repository`` (the root itself left out)."""
    folder = root.resolve()
    return [place for key, place in _manifest(folder, repository).items()
            if key and place != folder and place.is_dir() and inside(place, repository)]


def _manifest(root: Path, repository: Path) -> Mapping[str, Path]:
    """The manifest beside ``root``: only a regular file of the checkout is read (a
    pull request may commit ``.terraform`` too, with a link to ``/dev/zero`` there)."""
    path = root / MANIFEST
    try:
        if not (inside(path, repository) and path.resolve().is_file()):
            return {}
        status = path.stat()
    except OSError:
        return {}
    return _read(str(root), status.st_mtime_ns, status.st_size)


@lru_cache(maxsize=64)
def _read(root: str, mtime_ns: int, size: int) -> Mapping[str, Path]:
    """Key → resolved folder; an unreadable or malformed manifest lists nothing (the
    calls are then not followed, and said so, as without one)."""
    if size > MAX_MANIFEST_BYTES:
        return {}
    try:
        document = loads_json(read_text(Path(root) / MANIFEST))
    except (LoadError, OSError, ValueError, RecursionError):
        return {}
    modules = document.get("Modules") if isinstance(document, Mapping) else None
    found: dict[str, Path] = {}
    for entry in modules[:MAX_ENTRIES] if isinstance(modules, list) else []:
        if not isinstance(entry, Mapping):
            continue
        key, folder = entry.get("Key"), entry.get("Dir")
        if isinstance(key, str) and isinstance(folder, str) and "\0" not in folder:
            found[key] = Path(os.path.normpath(Path(root) / folder)).resolve()
    return found
