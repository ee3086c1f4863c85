"""Where the pull request's files live, and whether a path stays there.

A pull request can hold symlinks to the runner's files, and its config can name absolute
or ``..`` paths: nothing outside the checkout is read as infrastructure.
"""

from __future__ import annotations

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
