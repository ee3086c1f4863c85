"""Read-only git plumbing on the checkout: what a file or folder held at another commit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from leastpriv_ci.errors import UserError, cut

_LONG_FIELDS = 4  # ls-tree -l: mode, type, object, size (then a tab and the path)
_REGULAR_FILES = ("100644", "100755")  # not a link (120000), folder or submodule
_OTHER_ENTRIES = {"120000": "a symbolic link", "040000": "a folder", "160000": "a submodule"}


def git_text(repo: Path, *args: str) -> str:
    """``git args`` run in ``repo``, its output as text."""
    return git_bytes(repo, *args).decode("utf-8", errors="replace")


def git_bytes(repo: Path, *args: str) -> bytes:
    """``git args`` run in ``repo``; a failure is an input error naming the base commit."""
    try:
        # Read-only plumbing (ls-tree, show). In the action's container the checkout
        # belongs to the runner's user, not root, and git refuses such a repository
        # ("dubious ownership") unless it is marked safe.
        result = subprocess.run(
            ["git", "-c", "safe.directory=*", "-C", str(repo), *args],
            capture_output=True, check=False, timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(f"cannot run git in {repo}: {exc}") from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise UserError(
            f"git {args[0]} failed: {message[-1] if message else 'unknown error'}; fetch the "
            "base commit (actions/checkout with fetch-depth: 0)",
            where=str(repo),
        )
    return result.stdout


def blob_sizes(repo: Path, ref: str) -> dict[str, int | None]:
    """Every path at ``ref`` under ``repo`` (relative to it) → its blob's size, or
    ``None`` for a symbolic link or a submodule. Names are decoded as the file system's
    (``os.fsdecode``): one that is not UTF-8 is spelt as a walk of the checkout spells it,
    and given back to ``git show`` it names the same bytes."""
    listing = os.fsdecode(git_bytes(repo, "ls-tree", "-r", "-l", "-z", ref, "--"))
    entries: dict[str, int | None] = {}
    for entry in listing.split("\0"):
        fields, _, name = entry.partition("\t")
        parts = fields.split()
        if not name or len(parts) != _LONG_FIELDS:
            continue
        regular = parts[0] in _REGULAR_FILES and parts[3].isdigit()
        entries[name] = int(parts[3]) if regular else None
    return entries


def file_at(repo: Path, ref: str, path: str, max_bytes: int) -> bytes | None:
    """The file at ``path`` (relative to ``repo``, a folder of the checkout) in commit
    ``ref``, or ``None`` when that commit has nothing there. Anything else there than a
    regular file (a link, a folder, a submodule) is an input error saying what it is:
    links are not followed at the base commit, and taking one for no file would read the
    base as if it had none. A file over ``max_bytes`` is an input error."""
    if not ref or ref.startswith("-"):  # would be read by git as an option
        raise UserError(f"{ref!r} is not a git revision; give a branch, tag or commit",
                        where="base-ref")
    listing = git_text(repo, "ls-tree", "-l", "-z", ref, "--", f"./{path}")
    fields = listing.split("\0", 1)[0].split("\t", 1)[0].split()
    if not fields:
        return None
    if len(fields) != _LONG_FIELDS or fields[0] not in _REGULAR_FILES:
        what = _OTHER_ENTRIES.get(fields[0], f"an entry of mode {cut(fields[0])}")
        why = ": links are not followed at the base commit" if fields[0] == "120000" else ""
        raise UserError(f"is {what} there, not a file{why}, so it is not read",
                        where=f"{path} at {ref}")
    if int(fields[3]) > max_bytes:
        raise UserError(f"{path} is {fields[3]} bytes at {ref}, over the {max_bytes}-byte "
                        "limit", where="base-ref")
    return git_bytes(repo, "show", f"{ref}:./{path}")
