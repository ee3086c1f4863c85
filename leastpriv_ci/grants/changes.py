"""What a pull request changes in the declared grants: base commit versus head.

The base commit's infrastructure files are read with ``git show`` into a temporary
folder and loaded like the head's; :func:`role_changes` then reports, per role, the
statements the PR adds and removes and a ``jsondiff`` of the role's policy documents.
"""

from __future__ import annotations

import json
import posixpath
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import jsondiff

from leastpriv_ci.errors import UserError
from leastpriv_ci.git import blob_sizes, git_bytes
from leastpriv_ci.grants.cdk_assembly import (
    APP_CONFIG,
    APP_CONFIG_UNREADABLE,
    APP_CONFIG_UNREADABLE_TEXT,
    MANIFEST,
    MARKER,
    MAX_APP_CONFIG_BYTES,
    MAX_MANIFEST_BYTES,
    app_output,
    in_assembly,
)
from leastpriv_ci.grants.checkout import checkout_root
from leastpriv_ci.grants.declared import (
    DEFAULT_GLOBS,
    SKIPPED_DIRS,
    StackReads,
    glob_regex,
    load_declared,
)
from leastpriv_ci.grants.model import CDK_TEMPLATE, GrantSet, ResolveContext
from leastpriv_ci.loaders import MAX_FILE_BYTES, LoadError
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import Role, Statement

MAX_BASE_FILES = 5000


def load_at_ref(
    repo: Path,
    ref: str,
    context: ResolveContext,
    notices: Notices,
    globs: Sequence[str] | None = None,
    session: object | None = None,
    stack_reads: StackReads | None = None,
) -> GrantSet:
    """The grants declared at git ``ref`` of ``repo`` (origins relative to the repo root).

    ``session`` reads what the head's reading reads from AWS (managed policies, the
    stacks' names as deployed), so that an unchanged role compares equal; ``stack_reads``
    is the head's reading's, so that no stack is read twice."""
    if not ref or ref.startswith("-"):  # would be read by git as an option
        raise UserError(f"{ref!r} is not a git revision; give a branch, tag or commit",
                        where="base-ref")
    if not (checkout_root(repo) / ".git").exists():
        # e.g. actions/checkout with path: the workspace holds the repository, in a folder
        raise UserError(f"{repo} is in no git repository, so the base's files cannot be "
                        "read; scan from the checkout's folder, or leave base-ref empty",
                        where="base-ref")
    entries = blob_sizes(repo, ref)
    patterns = [glob_regex(p) for p in (globs or DEFAULT_GLOBS)]
    names = [name for name in entries
             if ".." not in name.split("/") and not name.startswith("/")]
    walked = [name for name in names if not SKIPPED_DIRS.intersection(name.split("/")[:-1])]
    wanted = [name for name in walked if any(rx.match(name) for rx in patterns)]
    base_notices = Notices()
    if not globs:
        assemblies = _assemblies(repo, ref, entries, walked, base_notices)
        taken = set(wanted)
        wanted += [name for name in names
                   if name not in taken and in_assembly(name, assemblies)]
    if len(wanted) > MAX_BASE_FILES:
        raise UserError(f"{len(wanted)} infrastructure files at {ref}, over the limit of "
                        f"{MAX_BASE_FILES}; narrow policy-paths")
    # A CDK stack's name is in the manifest beside its template: copied, not loaded
    manifests = sorted({manifest for name in wanted if name.endswith(CDK_TEMPLATE)
                        if (manifest := posixpath.join(posixpath.dirname(name), MANIFEST))
                        in entries})
    links = [name for name in (*wanted, *manifests) if entries[name] is None]
    if links:
        notices.add("base-link-not-followed", "at the base commit: a symbolic link, or a "
                    "submodule, where an infrastructure file or CDK manifest is expected is "
                    "not read (links are not followed at the base commit)", ", ".join(links))
    with tempfile.TemporaryDirectory(prefix="leastpriv-base-") as folder:
        root = Path(folder)
        (root / ".git").mkdir()  # the copy is a checkout of its own (see checkout.py)
        for name in (*wanted, *manifests):
            size = entries[name]
            if size is None:
                continue
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if size > max(MAX_FILE_BYTES, MAX_MANIFEST_BYTES):
                # A stand-in of the blob's size, never read from git: the loaders refuse
                # it as they refuse such a file at head (file-too-large, or the manifest
                # unreadable), with their own words. (Sparse: it takes no space.)
                with target.open("wb") as stand_in:
                    stand_in.truncate(size)
                continue
            # "./": relative to the scanned folder, as ls-tree listed it (the scan may
            # run in a folder of the repository, as in a monorepo)
            target.write_bytes(git_bytes(repo, "show", f"{ref}:./{name}"))
        grants = load_declared(sorted(root / name for name in wanted
                                      if entries[name] is not None),
                               context, base_notices, root=root, session=session,
                               stack_reads=stack_reads)
    for notice in base_notices.items():
        notices.add(f"base-{notice.code}", f"at the base commit: {notice.message}",
                    ", ".join(notice.examples) or None)
    return grants


def _assemblies(repo: Path, ref: str, sizes: Mapping[str, int | None], names: Sequence[str],
                notices: Notices) -> set[str]:
    """The cloud assemblies at ``ref`` as discovery finds them in a checkout (see
    :class:`~leastpriv_ci.grants.cdk_assembly.AssemblyFinder`), among ``names`` (the
    files outside skipped folders; ``sizes``: every file's blob size, ``None`` for a
    link): folders holding both ``cdk.out`` and ``manifest.json`` as files, and the
    output folders ``cdk.json`` files name."""
    def holding(file: str) -> set[str]:
        return {posixpath.dirname(name) for name in names
                if posixpath.basename(name) == file and sizes[name] is not None}

    found = holding(MARKER) & holding(MANIFEST)
    configs = sorted(n for n in names if posixpath.basename(n) == APP_CONFIG)
    if len(configs) > MAX_BASE_FILES:  # each is a git show, as each infrastructure file
        raise UserError(f"{len(configs)} cdk.json files at {ref}, over the limit of "
                        f"{MAX_BASE_FILES}; name the infrastructure in policy-paths")
    for name in configs:
        size = sizes[name]
        try:
            if size is None:
                raise LoadError("a symbolic link: links are not followed at the base commit")
            if size > MAX_APP_CONFIG_BYTES:  # never read from git
                raise LoadError(f"file is {size} bytes, over the "
                                f"{MAX_APP_CONFIG_BYTES}-byte limit")
            # (a byte order mark dropped, as read_text drops it at head)
            text = git_bytes(repo, "show", f"{ref}:./{name}").decode("utf-8").removeprefix(
                "\ufeff")
        except (LoadError, UnicodeDecodeError) as exc:
            notices.add(APP_CONFIG_UNREADABLE, APP_CONFIG_UNREADABLE_TEXT, f"{name} ({exc})")
            continue
        output = app_output(text, posixpath.dirname(name), name, notices)
        if output is not None:
            found.add(output)
    return found


def role_changes(base: GrantSet, head: GrantSet) -> dict[str, object]:
    """Per changed role: ``status``, ``added``/``removed`` statements, and a ``diff``.

    ``status`` is ``added`` (a new role), ``removed`` or ``changed``; statements carry
    their head (added) or base (removed) origin. Unchanged roles are left out.
    """
    changes: dict[str, object] = {}
    for key in sorted(set(base.roles) | set(head.roles)):
        old, new = base.roles.get(key), head.roles.get(key)
        old_doc, new_doc = _document(old), _document(new)
        if old_doc == new_doc:
            continue
        old_statements, new_statements = _statements(old), _statements(new)
        old_keys = {_canonical(s) for s in old_statements}
        new_keys = {_canonical(s) for s in new_statements}
        changes[key] = {
            "status": "added" if old is None else "removed" if new is None else "changed",
            "added": [_described(s) for s in new_statements if _canonical(s) not in old_keys],
            "removed": [_described(s) for s in old_statements if _canonical(s) not in new_keys],
            "diff": json.loads(jsondiff.diff(old_doc, new_doc, syntax="symmetric", dump=True)),
        }
    return changes


def _document(role: Role | None) -> dict[str, object]:
    if role is None:
        return {}
    doc: dict[str, object] = {"Policies": {p.name: p.to_json() for p in role.policies}}
    if role.boundary is not None:
        doc["PermissionsBoundary"] = role.boundary.to_json()
    return doc


def _statements(role: Role | None) -> list[Statement]:
    return list(role.statements) if role is not None else []


def _canonical(statement: Statement) -> str:
    return json.dumps(statement.to_json(), sort_keys=True)


def _described(statement: Statement) -> dict[str, object]:
    return {"statement": statement.to_json(), "origin": statement.origin.to_json()}
