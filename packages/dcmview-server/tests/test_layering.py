"""The server imports only the public names of dcmview-core and dcmview-annotations (issue 11).

Every ``from dcmview_core… import`` in the package must be ``from dcmview_core import …`` (the
names of its ``__all__``), the same for dcmview-annotations, and the server never reads DICOM
itself (no pydicom import).
"""

from __future__ import annotations

import ast
from pathlib import Path

import dcmview_annotations
import dcmview_core
import pytest

import dcmview_server

SOURCE = Path(dcmview_server.__file__).parent
PUBLIC = {
    "dcmview_core": set(dcmview_core.__all__),
    "dcmview_annotations": set(dcmview_annotations.__all__),
}
PENDING: dict[str, str] = {
    # file -> why it is still allowed (remove the line once the file follows the rule)
}


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((a.name, []) for a in node.names)
    return found


@pytest.mark.parametrize(
    "path", sorted(SOURCE.rglob("*.py")), ids=lambda p: str(p.relative_to(SOURCE))
)
def test_only_public_names_of_core_and_annotations(path: Path) -> None:
    name = str(path.relative_to(SOURCE))
    problems = []
    for module, names in _imports(path):
        root = module.split(".")[0]
        if root == "pydicom":
            problems.append(f"imports {module} (DICOM reading belongs in dcmview-core)")
        elif root in PUBLIC:
            if module != root:
                problems.append(f"imports the private module {module}")
            problems.extend(
                f"imports {n} from {root}, not in its __all__"
                for n in names
                if n not in PUBLIC[root]
            )
    if name in PENDING:
        if not problems:
            pytest.fail(f"{name} is clean now: remove it from PENDING ({PENDING[name]})")
        pytest.xfail(PENDING[name])
    assert problems == []
