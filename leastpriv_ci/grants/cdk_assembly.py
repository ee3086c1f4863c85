"""CDK cloud assemblies: the stack a synthesized template deploys as.

``cdk synth`` writes a ``manifest.json`` beside the templates of each cloud assembly
(``cdk.out``, and a Stage's ``assembly-STAGE/``). Each ``aws:cloudformation:stack``
artifact names its template (``properties.templateFile``, relative to that folder) and,
where the deployed name is not the artifact ID, the name (``properties.stackName``): a
Stage's stack deploys as ``Prod-ApiStack`` from ``ProdApiStack6A2B1C3D.template.json``.
CloudFormation puts that name in the names it generates for functions and in their
``aws:cloudformation:stack-name`` tag.

The manifest comes with the pull request: it is read only when it is a regular file
inside the checkout, within a size limit, by the bounded JSON loader; values of the wrong
type are ignored. One that cannot be read is a warning, and its templates are named after
their files, as without a manifest.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from leastpriv_ci.grants.checkout import (
    OUTSIDE_CHECKOUT,
    OUTSIDE_CHECKOUT_TEXT,
    checkout_root,
    inside,
)
from leastpriv_ci.grants.model import cdk_stack
from leastpriv_ci.loaders import LoadError, loads_json, mapping_of, read_text
from leastpriv_ci.notices import Notices

MANIFEST = "manifest.json"
STACK_ARTIFACT = "aws:cloudformation:stack"
# Large apps' manifests carry every construct's metadata: a few MB, not more
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
UNREADABLE = "cdk-manifest-unreadable"
UNREADABLE_TEXT = (
    "a CDK cloud assembly's manifest.json that cannot be read is ignored: the stacks beside "
    "it are named after their template files, which for a Stage's stacks (deployed as "
    "STAGE-STACK) match neither the names CloudFormation generates nor the stack-name tag; "
    "run cdk synth again or leave the folder out of policy-paths")


@dataclass(frozen=True)
class CdkStack:
    """The CloudFormation stack a template deploys as: its name, and the environment
    (``aws://ACCOUNT/REGION``) its manifest gives (``None``: no manifest said)."""

    name: str
    environment: str | None = None


def stacks_in(manifest: object) -> dict[str, CdkStack]:
    """Template file (POSIX, relative to the manifest's folder) → the stack it deploys
    as, for the stack artifacts of a parsed ``manifest.json``. Anything of the wrong type
    is passed over: a stack without a name of its own goes by its artifact ID."""
    found: dict[str, CdkStack] = {}
    for artifact_id, artifact in mapping_of(mapping_of(manifest).get("artifacts")).items():
        artifact = mapping_of(artifact)
        properties = mapping_of(artifact.get("properties"))
        template = properties.get("templateFile")
        if artifact.get("type") != STACK_ARTIFACT or not isinstance(template, str):
            continue
        name = properties.get("stackName")
        environment = artifact.get("environment")
        found.setdefault(_relative(template), CdkStack(
            name if isinstance(name, str) and name else str(artifact_id),
            environment if isinstance(environment, str) else None))
    return found


class Assemblies:
    """The stacks templates deploy as, each assembly's manifest read once."""

    def __init__(self, notices: Notices, checkout: Path | None = None,
                 shown: Callable[[Path], str] = str) -> None:
        self._notices = notices
        self._checkout = checkout
        self._shown = shown
        self._read: dict[Path, Mapping[str, CdkStack]] = {}

    def stack(self, template: Path) -> CdkStack | None:
        """The stack ``template`` deploys as: as its folder's manifest lists it, else
        named after the file (:func:`cdk_stack`); ``None`` for a file not named like a
        CDK stack's template."""
        fallback = cdk_stack(template.name)
        if fallback is None:
            return None
        listed = self._manifest(template.parent).get(template.name)
        return listed if listed is not None else CdkStack(fallback)

    def _manifest(self, folder: Path) -> Mapping[str, CdkStack]:
        if folder not in self._read:
            self._read[folder] = self._stacks(folder / MANIFEST)
        return self._read[folder]

    def _stacks(self, path: Path) -> Mapping[str, CdkStack]:
        try:
            mode = path.stat().st_mode
        except OSError:  # none (a template copied alone), or a dangling symlink
            return {}
        shown = self._shown(path)
        checkout = self._checkout or checkout_root(path.parent)
        if not inside(path, checkout):
            self._notices.add(OUTSIDE_CHECKOUT, OUTSIDE_CHECKOUT_TEXT, shown)
            return {}
        if not stat.S_ISREG(mode):  # a FIFO would block the read
            self._notices.add(UNREADABLE, UNREADABLE_TEXT, f"{shown} (not a regular file)")
            return {}
        try:
            manifest = loads_json(read_text(path, MAX_MANIFEST_BYTES))
        except LoadError as exc:
            where = f"{shown}:{exc.line}" if exc.line else shown
            self._notices.add(UNREADABLE, UNREADABLE_TEXT, f"{where} ({exc})")
            return {}
        except OSError as exc:
            self._notices.add(UNREADABLE, UNREADABLE_TEXT, f"{shown} ({exc.strerror})")
            return {}
        if not isinstance(manifest, Mapping):
            self._notices.add(UNREADABLE, UNREADABLE_TEXT, f"{shown} (not a JSON object)")
            return {}
        return stacks_in(manifest)


def _relative(template: str) -> str:
    """A ``templateFile`` as a POSIX path relative to its manifest's folder."""
    return PurePosixPath(os.path.normpath(template.replace("\\", "/"))).as_posix()
