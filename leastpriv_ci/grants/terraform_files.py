"""The ``.tf`` files of a checkout: each read and parsed once per version, the files that
make a module, and the local module calls that name each folder."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.checkout import OUTSIDE_CHECKOUT, OUTSIDE_CHECKOUT_TEXT, inside, walk
from leastpriv_ci.grants.declared import SKIPPED_DIRS
from leastpriv_ci.grants.hcl import Block, HclFile, parse_hcl
from leastpriv_ci.grants.terraform_modules import downloaded_folder, downloaded_folders
from leastpriv_ci.loaders import LoadError, read_text
from leastpriv_ci.notices import Notices

MAX_MODULE_FILES = 500
MAX_REPOSITORY_FILES = 5000  # .tf files looked through for the calls of a module
# A module call at the start of a line (not in a comment).
_MODULE_CALL = re.compile(r'^[ \t]*module[ \t]+"([^"\n]+)"', re.MULTILINE)


def module_paths(folder: Path, repository: Path, notices: Notices) -> list[Path]:
    """The ``.tf`` files of a module folder that are files of the checkout: a symlink out
    of it (to the runner's files, to ``/dev/zero``) is not read, and said so."""
    found = []
    for path in sorted(folder.glob("*.tf"))[:MAX_MODULE_FILES]:
        if not inside(path, repository) or not path.resolve().is_file():
            notices.add(OUTSIDE_CHECKOUT, OUTSIDE_CHECKOUT_TEXT, str(path))
            continue
        found.append(path)
    return found


def module_files(folder: Path, repository: Path, notices: Notices,
                 first: HclFile | None = None) -> list[HclFile]:
    """The parsed ``.tf`` files of a module folder (``first`` first, if given); files that
    do not parse, or lie outside the repository, are skipped with a warning."""
    files = [first] if first is not None else []
    for other in module_paths(folder, repository, notices):
        if first is not None and other.resolve() == first.path.resolve():
            continue
        try:
            files.append(parsed(other))
        except (UserError, OSError, ValueError) as exc:
            notices.add("terraform-module-file-skipped",
                        "a .tf file of the same module could not be parsed; references to it "
                        "stay unresolved", f"{other}: {exc}")
    return files


def calls_of(path: Path) -> tuple[Block, ...]:
    """The ``module`` blocks of a ``.tf`` file; raises :class:`UserError` if it holds one
    and does not parse."""
    return _calls_cached(*_version(path))


@lru_cache(maxsize=MAX_REPOSITORY_FILES)
def _calls_cached(path: str, mtime_ns: int, size: int) -> tuple[Block, ...]:
    # Found by text first: most files have none, and are not parsed for it.
    if not _MODULE_CALL.search(_text_cached(path, mtime_ns, size)):
        return ()
    blocks = _parse_cached(path, mtime_ns, size).blocks
    return tuple(b for b in blocks if b.type == "module" and len(b.labels) == 1)


def called_folder(call: Block, caller: Path, repository: Path) -> Path | None:
    """The folder of the module ``call`` (in the file ``caller``) names: a local path, or
    where ``terraform init`` downloaded a registry or git module (None: neither, or
    outside ``repository``)."""
    source = local_source(call)
    if source is not None:
        folder = caller.parent / source
        return folder if inside(folder, repository) else None
    return downloaded_folder(caller, call.labels[0], repository)


def local_source(call: Block) -> str | None:
    """A module call's ``source`` when it is a local path (``./…``, ``../…``). Terraform
    takes only a literal string there, so it is read as written."""
    expression = call.attributes.get("source")
    text = expression.source.snippet(expression.tree).strip() if expression else ""
    source = text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else ""
    return source if source.startswith(("./", "../")) and "${" not in source else None


class _ModuleCalls:
    """Per checkout: called folder → the local module calls naming it, over its ``.tf``
    files (tool and vendored folders left out).

    Every file of a called module asks for its callers, so the index is built once and
    reused while the checkout looks the same: no folder the walk went through has changed
    (a folder's mtime moves when an entry is added, removed or renamed) and no file
    holding a call has (mtime and size). A file edited in place to hold its first call is
    seen once its folder changes; a scan reads files that do not change under it.
    """

    def __init__(self) -> None:
        self._known: dict[Path, _CallIndex] = {}

    def __call__(self, repository: Path) -> dict[Path, list[tuple[Path, Block]]]:
        known = self._known.get(repository)
        if known is not None and all(_mtime(f) == stamp for f, stamp in known.folders) \
                and all(_version(Path(v[0])) == v for v in known.holders):
            return known.callers
        folders: list[tuple[str, int]] = []
        holders: list[tuple[str, int, int]] = []
        index: dict[Path, list[tuple[Path, Block]]] = {}
        for path in self._walk(repository, folders):
            try:
                version = _version(path)
                calls = _calls_cached(*version)
            except (UserError, OSError, ValueError):
                continue  # that file's own load names what is wrong with it
            if calls:
                holders.append(version)
            for call in calls:
                called = called_folder(call, path, repository)
                if called is not None:
                    index.setdefault(called.resolve(), []).append((path, call))
        if len(self._known) >= 16:
            self._known.clear()
        self._known[repository] = _CallIndex(folders, holders, index)
        return index

    @staticmethod
    def _walk(repository: Path, folders: list[tuple[str, int]]) -> list[Path]:
        """The checkout's ``.tf`` files, and those of the modules ``terraform init``
        downloaded for it (which may call modules of their own)."""
        files: list[Path] = []
        roots: list[Path] = []
        for folder, subfolders, names in walk(repository):
            if ".terraform" in subfolders:
                roots.append(Path(folder))
            subfolders[:] = sorted(f for f in subfolders if f not in SKIPPED_DIRS)
            folders.append((folder, _mtime(folder)))
            files.extend(Path(folder, name) for name in sorted(names) if name.endswith(".tf"))
            if len(files) >= MAX_REPOSITORY_FILES:
                break
        for downloaded in dict.fromkeys(d for root in roots
                                        for d in downloaded_folders(root, repository)):
            files.extend(p for p in sorted(downloaded.glob("*.tf"))[:MAX_MODULE_FILES]
                         if inside(p, repository) and p.resolve().is_file())
        return files[:MAX_REPOSITORY_FILES]


class _CallIndex(NamedTuple):
    folders: list[tuple[str, int]]  # each folder walked, with its mtime
    holders: list[tuple[str, int, int]]  # each file holding a module call, with its version
    callers: dict[Path, list[tuple[Path, Block]]]  # called folder → its calls


def _mtime(folder: str) -> int:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return -1


module_calls = _ModuleCalls()


def text_of(path: Path) -> str:
    return _text_cached(*_version(path))


def parsed(path: Path) -> HclFile:
    return _parse_cached(*_version(path))


def _version(path: Path) -> tuple[str, int, int]:
    """A file's cache key, with its mtime and size: each file is read and parsed once per
    scan, not once per sibling or per module looking for its callers."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=1024)
def _text_cached(path: str, mtime_ns: int, size: int) -> str:
    try:
        return read_text(Path(path))
    except LoadError as exc:
        raise UserError(f"cannot read Terraform file: {exc}", where=path) from None


@lru_cache(maxsize=256)
def _parse_cached(path: str, mtime_ns: int, size: int) -> HclFile:
    return parse_hcl(Path(path), _text_cached(path, mtime_ns, size))
