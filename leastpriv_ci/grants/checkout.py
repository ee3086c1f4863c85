"""Where the pull request's files live, and whether a path stays there.

A pull request can hold symlinks to the runner's files, and its config can name absolute
or ``..`` paths: nothing outside the checkout is read as infrastructure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

OUTSIDE_CHECKOUT = "outside-checkout"
OUTSIDE_CHECKOUT_TEXT = ("files that resolve outside the checkout (symlinks, absolute or .. "
                         "paths) are not read")


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, symlinks followed, lies within ``root``."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False
    except ValueError:  # a NUL or a lone surrogate: a name no file can have
        return False


def walk(top: str | os.PathLike[str]) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk(top)``, top-down, symlinked folders listed but not entered, unreadable
    folders passed over; the caller may prune the folder names it is handed. Without
    recursion: Python 3.11's ``os.walk`` takes a stack frame per level, and a pull
    request's folders can nest deeper than the interpreter's limit."""
    pending = [os.fspath(top)]
    while pending:
        directory = pending.pop()
        dirnames: list[str] = []
        filenames: list[str] = []
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    (dirnames if is_dir else filenames).append(entry.name)
        except OSError:
            continue
        yield directory, dirnames, filenames
        subfolders = [os.path.join(directory, name) for name in dirnames]
        pending.extend(reversed([path for path in subfolders if not os.path.islink(path)]))


def repository_root(path: Path) -> Path:
    """The nearest folder above the file ``path`` holding ``.git``; else its own folder."""
    return checkout_root(path.resolve().parent)


def checkout_root(folder: Path) -> Path:
    """The nearest folder at or above ``folder`` holding ``.git``; else ``folder`` itself
    (a scan run from a subfolder may read the rest of its repository, nothing beyond)."""
    start = folder.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start


def repository_path(path: str, root: Path) -> str:
    """``path`` (as shown: relative to ``root``, or absolute) relative to its git repository.

    GitHub places annotations, code-scanning results and blob links by the path inside
    the repository, which differs from the path under the workspace when the checkout
    sits in a sub-folder (``actions/checkout`` with ``path: app``). A file that does not
    exist, or that no folder holding ``.git`` contains, keeps ``path``.
    """
    full = root / path
    if not full.is_file():
        return path
    repository = repository_root(full)
    if not (repository / ".git").exists():
        return path
    try:
        return full.resolve().relative_to(repository).as_posix()
    except (ValueError, OSError, RuntimeError):
        return path


def repository_paths(root: Path) -> Callable[[str], str]:
    """:func:`repository_path` for ``root``, each path looked up once (reports name a file
    many times)."""
    seen: dict[str, str] = {}

    def locate(path: str) -> str:
        if path not in seen:
            seen[path] = repository_path(path, root)
        return seen[path]

    return locate
