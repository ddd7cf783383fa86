"""The house's rules (../shared/ARCHITECTURE.md), held by reading every module's imports, lazy ones included.

Dependencies point one way: cli -> commands, and cli/commands/server -> pipeline -> (sources, pose, tracking,
gait, gallery) -> types. Nothing imports the command line, its commands or the server; the inference
packages import neither the training stack nor the data sets; the data sets import neither training nor
evaluation; and neither the pipeline nor the inference packages print.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "gaitid"

INFERENCE = ("types", "errors", "stopping", "outputs", "sources", "pose", "tracking", "gait", "gallery")
TRAINING = ("training", "evaluation", "datasets")
APPLICATIONS = ("pipeline", "commands", "server", "cli")


def _imports() -> Iterator[tuple[str, str, int, str]]:
    """(importing part, imported part, line, module file) for every import of gaitid inside gaitid."""
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        part = relative.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                pieces = name.split(".")
                if pieces[0] == "gaitid" and len(pieces) > 1 and pieces[1] != part:
                    yield part, pieces[1], node.lineno, str(relative)


IMPORTS = list(_imports())


def _breaking(importers: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return [f"{where}:{line} imports gaitid.{to}" for part, to, line, where in IMPORTS
            if part in importers and to in forbidden]


def test_the_imports_were_read() -> None:
    assert ("commands", "pipeline") in {(a, b) for a, b, _, _ in IMPORTS}


def test_types_import_nothing_of_gaitid() -> None:
    assert [f"{where}:{line} -> {to}" for part, to, line, where in IMPORTS if part == "types"] == []


@pytest.mark.parametrize(
    ("importers", "forbidden"),
    [
        pytest.param(INFERENCE, TRAINING + APPLICATIONS, id="inference-needs-no-training-nor-applications"),
        pytest.param(("datasets",), ("training", "evaluation") + APPLICATIONS, id="datasets-below-training"),
        pytest.param(("training", "evaluation"), APPLICATIONS, id="training-needs-no-applications"),
        pytest.param(("pipeline",), ("commands", "server", "cli"), id="pipeline-below-its-callers"),
        pytest.param(("server",), ("commands", "cli"), id="the-server-beside-the-commands"),
        pytest.param(
            tuple({part for part, _, _, _ in IMPORTS} - {"cli", "__main__", "server", "commands"}),
            ("cli", "server", "commands"),
            id="nothing-imports-the-cli-its-commands-or-the-server",
        ),
    ],
)
def test_dependencies_point_one_way(importers: tuple[str, ...], forbidden: tuple[str, ...]) -> None:
    assert _breaking(importers, forbidden) == []


@pytest.mark.parametrize("part", ("pipeline",) + INFERENCE)
def test_the_library_does_not_print(part: str) -> None:
    """Printing and exit codes belong to the commands (gaitid.commands) and the server's runner."""
    root = PACKAGE / part if (PACKAGE / part).is_dir() else PACKAGE / f"{part}.py"
    paths = sorted(root.rglob("*.py")) if root.is_dir() else [root]
    calls = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for path in paths
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("print", "exit")
    ]
    assert calls == []


def test_the_inference_path_needs_no_torch() -> None:
    """Identifying people needs no training stack: torch is imported only under training and evaluation."""
    users = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in ("training", "evaluation")
        for node in ast.walk(ast.parse(path.read_text()))
        if (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "torch" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "torch")
    ]
    assert users == []
