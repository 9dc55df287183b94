"""What `pip install .` (the Docker image's build) puts in the installed package."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _package_of(path: Path) -> Path:
    folder = path.parent
    while not (folder / "__init__.py").exists():
        folder = folder.parent
    return folder


def test_every_file_the_daemon_reads_besides_its_modules_is_package_data() -> None:
    """An editable install (CI, the tests) reads the source tree and would never notice a
    file left out of the wheel: the PostgreSQL migrations once were, and the image's
    bridge could not start on PostgreSQL."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    data = [
        path
        for path in sorted((REPO / "bridge").rglob("*"))
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    ]
    assert any(path.suffix == ".sql" for path in data)
    for path in data:
        package = _package_of(path)
        name = ".".join(package.relative_to(REPO).parts)
        inside = path.relative_to(package).as_posix()
        patterns = declared.get(name, [])
        assert any(fnmatch(inside, pattern) for pattern in patterns), f"{name}: {inside}"
