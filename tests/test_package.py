"""The package as an index receives it: ``python -m build`` makes a wheel and an sdist whose
metadata validates, with known classifiers (``Typing :: Typed`` among them) and the README as
its description; the wheel carries ``py.typed`` and the TypeScript client's runtime, and
installs, with its dependencies, into a fresh virtual environment, where typed_dcrf imports."""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

from packaging.metadata import Metadata
from trove_classifiers import classifiers

from tests.server.process import ROOT, run_unmeasured

TIMEOUT = 300


def run(command: list[str]) -> None:
    done = run_unmeasured(command, timeout=TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_built_package(tmp_path: Path) -> None:
    """One build (two at once would share the tree's build directory), checked as an index
    checks it, then installed."""
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)])
    check_metadata(dist)
    check_install(dist, tmp_path / "venv")


def check_metadata(dist: Path) -> None:
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata_name] = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = Metadata.from_email(archive.read(metadata_name), validate=True)
    assert {"typed_dcrf/py.typed", "typed_dcrf/client.ts"} <= set(names)
    assert metadata.name == "typed-dcrf"
    assert metadata.license_expression == "MIT"
    assert metadata.description_content_type == "text/markdown"
    assert metadata.description is not None
    assert metadata.description.startswith("# typed_dcrf")
    assert metadata.classifiers is not None
    assert "Typing :: Typed" in metadata.classifiers
    assert set(metadata.classifiers) <= classifiers, "classifiers a package index does not know"

    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        members = {
            Path(name).relative_to(Path(name).parts[0]).as_posix() for name in archive.getnames()
        }
    assert {"PKG-INFO", "README.md", "LICENSE", "pyproject.toml", "typed_dcrf/client.ts"} <= members


def check_install(dist: Path, venv: Path) -> None:
    """The wheel, with its dependencies, in a fresh virtual environment, where it imports."""
    [wheel] = dist.glob("*.whl")
    run([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", "--quiet", str(wheel)])
    check = (
        "import importlib.resources, typed_dcrf; "
        "from typed_dcrf import AsyncAPIConsumer, Response, action; "
        "assert importlib.resources.files('typed_dcrf').joinpath('py.typed').is_file(); "
        "assert Response.ok(1).status == 200; "
        "from typed_dcrf.typescript import runtime; "
        "assert 'export class Connection' in runtime()"
    )
    run([python, "-c", check])
