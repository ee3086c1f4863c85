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

A nested stack's template (``PARENTNESTEDHASH.nested.template.json``) is in no manifest:
its parent's template names it, in the ``aws:asset:path`` metadata of the
``AWS::CloudFormation::Stack`` resource that deploys it. CloudFormation names a nested
stack ``PARENT-LOGICALID-GUID``, so its functions' names and stack-name tag start with
``PARENT-LOGICALID`` (the logical ID maybe cut): that is the name it is given here, with
its parent's (:attr:`CdkStack.nested_in`). A stack nested in a nested stack gets its
parent's GUID in its name, which is known only once deployed; it is named after its file.

Discovery finds an assembly under any name (``cdk synth --output DIR``): a folder holding
CDK's version marker, a file named ``cdk.out``, beside a ``manifest.json``; and the folder
an app's ``cdk.json`` names as ``"output"``, even under ``build/`` or ``dist/`` (see
:class:`AssemblyFinder`).
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from leastpriv_ci.grants.checkout import (
    OUTSIDE_CHECKOUT,
    OUTSIDE_CHECKOUT_TEXT,
    checkout_root,
    inside,
    walk,
)
from leastpriv_ci.grants.model import CDK_TEMPLATE, cdk_stack
from leastpriv_ci.loaders import KeyedDict, LoadError, loads_json, mapping_of, read_text
from leastpriv_ci.notices import Notices

MANIFEST = "manifest.json"
MARKER = "cdk.out"  # CDK's version file, {"version": "36.0.0"}, beside manifest.json
STAGE_FOLDER = "assembly-"  # a Stage's assembly: DIR/assembly-STAGE/ (deeper: -A/-A-B/)
APP_CONFIG = "cdk.json"
MAX_APP_CONFIG_BYTES = 1024 * 1024
APP_CONFIG_UNREADABLE = "cdk-json-unreadable"
APP_CONFIG_UNREADABLE_TEXT = (
    "a cdk.json that cannot be read (not JSON, over 1 MB, not a regular file, or a symlink "
    "leaving the scanned folder) is passed over: its app's output folder is found only as "
    "any cloud assembly is (a folder holding cdk.out and manifest.json, not under build, "
    "dist, ...); fix the file or name the folder in policy-paths")
OUTPUT_IGNORED = "cdk-output-ignored"
OUTPUT_IGNORED_TEXT = (
    "a cdk.json \"output\" that is not a relative path inside the scanned folder (absolute, "
    "leaving it by .. or a symlink, or not a string) is not followed; synthesize into the "
    "repository or name the folder in policy-paths")
STACK_ARTIFACT = "aws:cloudformation:stack"
NESTED_TEMPLATE = ".nested" + CDK_TEMPLATE  # PARENTNESTEDHASH.nested.template.json
NESTED_STACK = "AWS::CloudFormation::Stack"
ASSET_PATH = "aws:asset:path"  # CDK's metadata: the file an asset was synthesized to
# CDK's templates: at most CloudFormation's 1 MB, with room for templates not yet trimmed
MAX_PARENT_BYTES = 4 * 1024 * 1024
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
    (``aws://ACCOUNT/REGION``) its manifest gives (``None``: no manifest said).

    A nested stack's ``name`` is ``PARENT-LOGICALID``, how its deployed name starts, and
    ``nested_in`` its parent's name."""

    name: str
    environment: str | None = None
    nested_in: str | None = None


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
        self._nested: dict[Path, Mapping[str, CdkStack | None]] = {}

    def stack(self, template: Path) -> CdkStack | None:
        """The stack ``template`` deploys as: as its folder's manifest lists it, or as
        the parent stack naming a nested template deploys it, else named after the file
        (:func:`cdk_stack`); ``None`` for a file not named like a CDK stack's template."""
        fallback = cdk_stack(template.name)
        if fallback is None:
            return None
        listed = self._manifest(template.parent).get(template.name)
        if listed is None and template.name.endswith(NESTED_TEMPLATE):
            listed = self._nested_stacks(template.parent).get(template.name)
        return listed if listed is not None else CdkStack(fallback)

    def _nested_stacks(self, folder: Path) -> Mapping[str, CdkStack | None]:
        """Nested template file → the stack it deploys as, for the nested stacks the
        folder's stack templates deploy (``None``: deployed by two of them)."""
        if folder not in self._nested:
            found: dict[str, CdkStack | None] = {}
            for name, parent in self._parents(folder).items():
                for file, logical_id in _nested_in(self._template(folder / name)):
                    stack = CdkStack(f"{parent.name}-{logical_id}", parent.environment,
                                     parent.name)
                    found[file] = stack if found.get(file, stack) == stack else None
            self._nested[folder] = found
        return self._nested[folder]

    def _parents(self, folder: Path) -> Mapping[str, CdkStack]:
        """The folder's top-level stack templates: as its manifest lists them, else its
        ``*.template.json`` but the nested ones, named after their files."""
        listed = self._manifest(folder)
        if listed:
            return {name: stack for name, stack in listed.items() if "/" not in name}
        try:
            names = sorted(entry.name for entry in os.scandir(folder)
                           if entry.name.endswith(CDK_TEMPLATE)
                           and not entry.name.endswith(NESTED_TEMPLATE))
        except OSError:
            return {}
        return {name: CdkStack(stack) for name in names
                if (stack := cdk_stack(name)) is not None}

    def _template(self, path: Path) -> object:
        """The parsed template at ``path``, or None where it cannot be read: outside the
        checkout, not a regular file, too large or not JSON (its own reading says so)."""
        checkout = self._checkout or checkout_root(path.parent)
        try:
            if not inside(path, checkout) or not stat.S_ISREG(path.stat().st_mode):
                return None
            return loads_json(read_text(path, MAX_PARENT_BYTES))
        except (OSError, LoadError):
            return None

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


def _nested_in(template: object) -> Iterator[tuple[str, str]]:
    """(nested template file, logical ID) of each nested stack a parsed CDK template
    deploys: an ``AWS::CloudFormation::Stack`` whose metadata names the file CDK wrote
    its template to, in the same folder."""
    for logical_id, resource in mapping_of(mapping_of(template).get("Resources")).items():
        resource = mapping_of(resource)
        file = mapping_of(resource.get("Metadata")).get(ASSET_PATH)
        if (resource.get("Type") == NESTED_STACK and isinstance(file, str)
                and file.endswith(NESTED_TEMPLATE) and "/" not in file and "\\" not in file
                and isinstance(logical_id, str)):
            yield file, logical_id


def is_assembly(folder: str, filenames: Collection[str]) -> bool:
    """Whether ``folder``, holding ``filenames``, is a cloud assembly: its ``cdk.out``
    marker and ``manifest.json`` are regular files (neither is read here)."""
    return (MARKER in filenames and MANIFEST in filenames
            and os.path.isfile(os.path.join(folder, MARKER))
            and os.path.isfile(os.path.join(folder, MANIFEST)))


def in_assembly(name: str, folders: Collection[str]) -> bool:
    """Whether ``name`` (a POSIX path) is a stack template of a cloud assembly in
    ``folders`` (POSIX paths, ``""`` the top): in the folder itself or in its Stages'
    (``assembly-*/``, as deep as they nest), never in its ``asset.*`` folders."""
    if not name.endswith(CDK_TEMPLATE):
        return False
    folder = posixpath.dirname(name)
    while folder not in folders:
        folder, part = posixpath.split(folder)
        if not part.startswith(STAGE_FOLDER):
            return False
    return True


def assembly_templates(folder: str) -> Iterator[Path]:
    """The stack templates of the cloud assembly in ``folder`` (:func:`in_assembly`).
    Symlinked folders inside it are not followed, as discovery's walk does not."""
    for directory, dirnames, filenames in walk(folder):
        dirnames[:] = [d for d in dirnames if d.startswith(STAGE_FOLDER)]
        yield from (Path(directory, f) for f in filenames if f.endswith(CDK_TEMPLATE))


def app_output(text: str, folder: str, shown: str, notices: Notices,
               root: Path | None = None) -> str | None:
    """The folder that the ``cdk.json`` ``text`` in ``folder`` names as ``"output"``, both
    POSIX paths relative to the scanned folder (``""``: the top); ``None`` when it names
    none (CDK's default, ``cdk.out``, is found by name) or one that is not followed: not
    JSON, not a string, absolute, or leaving the scanned folder by ``..`` or, when it is
    ``root`` on disk, by a symlink (a warning in ``notices``, ``shown`` naming the
    file)."""
    try:
        config = loads_json(text, key_lines=True)
    except LoadError as exc:
        where = f"{shown}:{exc.line}" if exc.line else shown
        notices.add(APP_CONFIG_UNREADABLE, APP_CONFIG_UNREADABLE_TEXT, f"{where} ({exc})")
        return None
    if not isinstance(config, KeyedDict) or "output" not in config:
        return None
    output = config["output"]
    line = config.key_lines.get("output")
    where = f"{shown}:{line}" if line else shown
    if not isinstance(output, str) or not output:
        notices.add(OUTPUT_IGNORED, OUTPUT_IGNORED_TEXT,
                    f"{where} (a {type(output).__name__}, not a folder)")
        return None
    relative = posixpath.normpath(posixpath.join(folder, output))
    if (posixpath.isabs(output) or relative.split("/")[0] == ".."
            or (root is not None and not inside(root / relative, root))):
        notices.add(OUTPUT_IGNORED, OUTPUT_IGNORED_TEXT, f"{where} ({output[:80]!r})")
        return None
    return "" if relative == "." else relative


class AssemblyFinder:
    """The stack templates of the cloud assemblies discovery's walk passes through, and of
    the output folders its apps' ``cdk.json`` name (walked apart: they may lie in folders
    the walk skips, as ``build/``).

    ``cdk.json`` comes with the pull request: it is read only when it is a regular file
    inside ``root``, within a size limit, by the bounded JSON loader; an ``output`` that is
    not a string, is absolute or resolves outside ``root`` is not followed. Each is a
    warning in ``notices`` (none given: passed over silently).
    """

    def __init__(self, root: Path, notices: Notices | None = None) -> None:
        self._root = root
        self._notices = notices if notices is not None else Notices()
        self._stages: set[str] = set()  # Stage folders of an assembly, ahead in the walk
        self._taken: set[str] = set()  # assembly folders whose templates the walk took
        self._outputs: dict[str, None] = {}  # cdk.json output folders, in the order found

    def visit(self, directory: str, dirnames: Collection[str],
              filenames: Collection[str]) -> list[Path]:
        """The templates ``directory`` holds as (part of) an assembly; called by a top-down
        walk of ``root`` with the subfolders it will enter and the files in ``directory``."""
        if APP_CONFIG in filenames:
            self._read_app(directory)
        if directory not in self._stages and not is_assembly(directory, filenames):
            return []
        self._taken.add(directory)
        self._stages.update(os.path.join(directory, d) for d in dirnames
                            if d.startswith(STAGE_FOLDER))
        return [Path(directory, f) for f in filenames if f.endswith(CDK_TEMPLATE)]

    def outputs(self) -> list[Path]:
        """The templates of the ``cdk.json`` output folders the walk did not take."""
        return [template for folder in self._outputs if folder not in self._taken
                for template in assembly_templates(folder)]

    def _read_app(self, directory: str) -> None:
        folder = Path(os.path.relpath(directory, self._root)).as_posix()
        folder = "" if folder == "." else folder
        shown = posixpath.join(folder, APP_CONFIG)
        try:
            text = _app_config_text(Path(directory, APP_CONFIG), self._root)
        except LoadError as exc:
            self._notices.add(APP_CONFIG_UNREADABLE, APP_CONFIG_UNREADABLE_TEXT,
                              f"{shown} ({exc})")
            return
        relative = app_output(text, folder, shown, self._notices, self._root)
        if relative is not None:  # spelt as the walk spells folders, to know one it took
            self._outputs.setdefault(os.path.join(self._root, *relative.split("/"))
                                     if relative else str(self._root))


def _app_config_text(path: Path, root: Path) -> str:
    """The text of the ``cdk.json`` at ``path``: a regular file inside ``root``, of at most
    :data:`MAX_APP_CONFIG_BYTES`; else a :class:`LoadError` saying why not."""
    if not inside(path, root):
        raise LoadError("a symlink leading out of the scanned folder")
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the read
            raise LoadError("not a regular file")
        return read_text(path, MAX_APP_CONFIG_BYTES)
    except OSError as exc:
        raise LoadError(exc.strerror or str(exc)) from None


def _relative(template: str) -> str:
    """A ``templateFile`` as a POSIX path relative to its manifest's folder."""
    return PurePosixPath(os.path.normpath(template.replace("\\", "/"))).as_posix()
