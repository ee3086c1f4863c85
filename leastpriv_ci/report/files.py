"""Writing the report files into a checkout the pull request controls.

A pull request can commit a symlink (or a folder) where a report is to be written: a
link named ``leastpriv-policy.json`` pointing at the runner's event payload would have it
overwritten. So a report is never written *through* a link: the text goes to a new file
in the same folder, which then replaces whatever the destination was (a link is replaced,
not followed), and a folder on the way that is a link inside the working directory is
refused. A crash part-way never leaves half a file either.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from leastpriv_ci.errors import UserError


def write_atomically(path: Path, text: str, *, what: str, remedy: str) -> None:
    """Write ``text`` to ``path`` without following a link at it or on the way to it.

    ``what`` names the file in messages ("the SARIF file"), ``remedy`` says what to do
    when ``path`` cannot be a file (a folder of that name, a linked folder). Any failure
    is a :class:`UserError` naming the path.
    """
    _check_destination(path, what, remedy)
    temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL|O_NOFOLLOW: a fresh file of our own; 0o666 less the umask, as write_text
        # would give it, so later steps (running as the runner's user) can read it.
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                         0o666)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        temporary.replace(path)  # rename(2) replaces a link itself, never its target
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UserError(f"cannot write {what} {path}: {exc.strerror}") from None


def _check_destination(path: Path, what: str, remedy: str) -> None:
    if path.is_dir() and not path.is_symlink():
        raise UserError(f"cannot write {what} {path}: it is a folder; {remedy}")
    linked = _linked_folder(path)
    if linked is not None:
        raise UserError(f"cannot write {what} {path}: {linked} is a symbolic link, and "
                        f"reports are never written through one; {remedy}")


def _linked_folder(path: Path) -> Path | None:
    """The first folder of ``path`` below the working directory that is a symlink.

    Folders above the working directory are the runner's, not the pull request's.
    """
    here = Path.cwd()
    full = path if path.is_absolute() else here / path
    try:
        below = full.parent.relative_to(here)
    except ValueError:
        return None
    current = here
    for part in below.parts:
        current = current / part
        if current.is_symlink():
            return current.relative_to(here)
    return None
