"""The package as an index receives it: ``python -m build`` makes a wheel and an sdist whose
metadata validates, with known classifiers (``Typing :: Typed`` among them) and the README as
its description; the wheel carries ``py.typed`` and installs, with its dependencies, into a
fresh virtual environment, where typed_dcrf imports."""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.metadata import Metadata
from trove_classifiers import classifiers

from tests.server.process import ROOT, run_unmeasured

TIMEOUT = 300
# Both tests read one build, made once: on one worker (two would build in one tree at once).
pytestmark = pytest.mark.xdist_group("package")


def run(command: list[str]) -> None:
    done = run_unmeasured(command, timeout=TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(directory), str(ROOT)])
    return directory


def test_the_metadata_is_what_an_index_accepts(dist: Path) -> None:
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata_name] = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = Metadata.from_email(archive.read(metadata_name), validate=True)
    assert "typed_dcrf/py.typed" in names
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
    assert {"PKG-INFO", "README.md", "LICENSE", "pyproject.toml", "typed_dcrf/py.typed"} <= members


def test_the_wheel_installs_into_a_fresh_environment_and_imports(
    dist: Path, tmp_path: Path
) -> None:
    [wheel] = dist.glob("*.whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", "--quiet", str(wheel)])
    check = (
        "import importlib.resources, typed_dcrf; "
        "from typed_dcrf import AsyncAPIConsumer, Response, action; "
        "assert importlib.resources.files('typed_dcrf').joinpath('py.typed').is_file(); "
        "assert Response.ok(1).status == 200"
    )
    run([python, "-c", check])
