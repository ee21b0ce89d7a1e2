"""End-to-end from the source distributions, and what every distribution ships.

``wheelhouse`` (tests/conftest.py) builds each distribution with ``python -m build``
(an sdist, then the wheel from that sdist, without build isolation). Here:

- every distribution of ours (the kernel and ``outflow-plugins/*``) must carry its
  LICENSE, its ``py.typed``, its README and its PEP 639 licence metadata, in the sdist
  and in the wheel;
- the sdists alone are installed into a fresh virtual environment, as ``pip install
  outflow-*.tar.gz`` does it (pip builds each wheel in an isolated environment, with
  the ``hatchling`` of ``[build-system]`` from the package index; the third-party
  dependencies come from the index too, as in test_wheels.py); a pipeline and a plugin
  are created there with ``outflow management create`` (the templates come from the
  installed package) and the plugin's commands run;
- the ``requirements.txt`` of that pipeline resolves, with our distributions on
  ``--find-links``, to our 1.0 dev versions, and never to the unrelated ``outflow``
  0.9 of the public index.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KERNEL_VERSION = "1.0.0.dev0"
#: The kernel and the default plugins: what requirements.txt must bring at our version.
OURS = ("outflow", "outflow-management", "outflow-sequential", "outflow-library",
        "outflow-multiprocessing")
#: Classifiers every distribution of ours declares (among others).
CLASSIFIERS = {
    "Development Status :: 3 - Alpha",
    "Intended Audience :: Science/Research",
    "Operating System :: POSIX",
    "Programming Language :: Python :: 3 :: Only",
    "Programming Language :: Python :: 3.10",
    "Programming Language :: Python :: 3.11",
    "Programming Language :: Python :: 3.12",
    "Programming Language :: Python :: 3.13",
    "Topic :: Scientific/Engineering",
    "Typing :: Typed",
}
#: Environment variables that would change what the child processes load.
_SCRUBBED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV",
             "PIPELINE_ROOT_DIRECTORY", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")
HELLO_LINE = re.compile(r" - tuto\.data_reduction\.commands - commands\.py:\d+ - INFO - "
                        r"Hello from data_reduction$", re.MULTILINE)
COMPUTED_LINE = re.compile(r" - tuto\.data_reduction\.tasks - tasks\.py:\d+ - INFO - "
                           r"Result of the computation: 42$", re.MULTILINE)


def _package(distribution: str) -> str:
    """``outflow`` -> ``outflow/core``; ``outflow-library`` -> ``outflow/library``."""
    return "outflow/core" if distribution == "outflow" else (
        "outflow/" + distribution.removeprefix("outflow-"))


def _check_metadata(text: str, distribution: str) -> None:
    """PKG-INFO or METADATA: name, version, SPDX licence, classifiers, URLs, README."""
    headers = HeaderParser().parsestr(text)
    assert headers["Name"] == distribution
    assert headers["Version"] == KERNEL_VERSION
    assert headers["License-Expression"] == "BSD-3-Clause"
    assert headers.get_all("License-File") == ["LICENSE"]
    assert not [c for c in headers.get_all("Classifier") or [] if c.startswith("License ::")]
    assert set(headers.get_all("Classifier") or []) >= CLASSIFIERS
    urls = dict(url.split(", ", 1) for url in headers.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation"} <= set(urls), urls
    assert urls["Documentation"].rstrip("/").endswith("/docs")
    assert headers["Description-Content-Type"] == "text/markdown"
    description = headers.get_payload()
    title = "outflow" if distribution == "outflow" else distribution
    assert description.lstrip().startswith(f"# {title}\n"), description[:80]


@pytest.mark.parametrize("distribution", OURS)
def test_sdist_and_wheel_ship_license_py_typed_and_metadata(wheelhouse,
                                                            distribution: str) -> None:
    license_text = (REPO / "LICENSE").read_text()
    assert license_text.startswith("BSD 3-Clause License\n\nCopyright (c) The outflow authors")
    source = wheelhouse.sources[distribution]
    assert (source / "LICENSE").read_text() == license_text
    assert (source / _package(distribution) / "py.typed").is_file()
    if distribution != "outflow":
        assert (source / "README.md").read_text().startswith(f"# {distribution}\n")

    with tarfile.open(wheelhouse.sdists[distribution]) as archive:
        top = f"{distribution.replace('-', '_')}-{KERNEL_VERSION}"
        members = {member.name: member for member in archive.getmembers()}
        for name in ("LICENSE", "README.md", "pyproject.toml", "PKG-INFO",
                     f"{_package(distribution)}/py.typed", f"{_package(distribution)}/plugin.py"
                     if distribution != "outflow" else "outflow/__main__.py"):
            assert f"{top}/{name}" in members, (name, sorted(members))

        def read(name: str) -> str:
            extracted = archive.extractfile(members[f"{top}/{name}"])
            assert extracted is not None
            return extracted.read().decode()

        assert read("LICENSE") == license_text
        _check_metadata(read("PKG-INFO"), distribution)

    with zipfile.ZipFile(wheelhouse.wheels[distribution]) as archive:
        names = set(archive.namelist())
        info = f"{distribution.replace('-', '_')}-{KERNEL_VERSION}.dist-info"
        assert f"{_package(distribution)}/py.typed" in names
        assert f"{info}/licenses/LICENSE" in names, sorted(names)
        assert archive.read(f"{info}/licenses/LICENSE").decode() == license_text
        _check_metadata(archive.read(f"{info}/METADATA").decode(), distribution)
        # A plugin's wheel ships only its own package in the `outflow` namespace.
        assert not [name for name in names if name.startswith("outflow/")
                    and not name.startswith(f"{_package(distribution)}/")
                    and name != "outflow/__main__.py"]
        assert "outflow/__init__.py" not in names


# ------------------------------------------------------------------ from the sdists


@dataclass
class SdistVenv:
    root: Path
    workdir: Path
    cache_home: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if key not in _SCRUBBED and not key.startswith("OUTFLOW_")}
        env["XDG_CACHE_HOME"] = str(self.cache_home)
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """``ARGS[0]`` from the venv's ``bin`` (``outflow``, ``python``) in ``cwd``."""
        program = str(self.root / "bin" / args[0])
        return subprocess.run([program, *args[1:]], capture_output=True, text=True,
                              timeout=120, cwd=cwd or self.workdir, env=self.env())

    def pip(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """The test's pip against this venv (``pip --python``)."""
        return subprocess.run([sys.executable, "-m", "pip", "--python", str(self.python),
                               "--disable-pip-version-check", *args], capture_output=True,
                              text=True, timeout=300, cwd=cwd or self.workdir)


@pytest.fixture(scope="module")
def sdist_venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse) -> Iterator[SdistVenv]:
    """A fresh venv holding the kernel and the four plugins, installed from their sdists."""
    base = tmp_path_factory.mktemp("sdists")
    root = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True,
                   timeout=120)
    workdir = base / "work"
    workdir.mkdir()
    venv = SdistVenv(root, workdir, base / "cache")
    # Ours from the sdist files only (pip builds their wheels, with build isolation);
    # the third-party dependencies from the index.
    done = venv.pip("install", "-q", "--no-binary", ",".join(OURS),
                    "--find-links", str(wheelhouse.sdist_directory),
                    *(str(wheelhouse.sdists[name]) for name in OURS))
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    yield venv


def test_installed_from_the_sdists(sdist_venv: SdistVenv) -> None:
    """Each distribution of ours was installed from its sdist file, none from a wheel."""
    site = sdist_venv.run("python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    assert site.returncode == 0, site.stderr
    purelib = Path(site.stdout.strip())
    for distribution in OURS:
        (info,) = purelib.glob(f"{distribution.replace('-', '_')}-{KERNEL_VERSION}.dist-info")
        origin = json.loads((info / "direct_url.json").read_text())
        assert origin["url"].endswith(f"-{KERNEL_VERSION}.tar.gz"), origin
        assert (info / "licenses" / "LICENSE").is_file()
        assert (purelib / _package(distribution) / "py.typed").is_file()


def test_create_a_pipeline_and_run_its_plugin(sdist_venv: SdistVenv) -> None:
    venv = sdist_venv
    found = venv.run("python", "-c", "from outflow.management.create.rendering import "
                     "templates_root; print(templates_root())")
    assert found.returncode == 0, found.stderr
    templates = Path(found.stdout.strip())
    assert templates.is_relative_to(venv.root), templates  # the installed copy, not ours
    assert templates.parts[-3:] == ("outflow", "management", "templates")

    done = venv.run("outflow", "management", "create", "pipeline", "tuto_pipeline")
    assert done.returncode == 0, done.stderr
    pipeline = venv.workdir / "tuto_pipeline"
    done = venv.run("outflow", "management", "create", "plugin", "tuto.data_reduction",
                    "--plugin_dir", "plugins/data_reduction", cwd=pipeline)
    assert done.returncode == 0, done.stderr
    settings = pipeline / "settings.py"
    text = settings.read_text()
    assert "    'outflow.management',\n" in text
    settings.write_text(text.replace("    'outflow.management',\n",
                                     "    'outflow.management',\n    'tuto.data_reduction',\n"))

    done = venv.run("python", "manage.py", "data_reduction", cwd=pipeline)
    assert done.returncode == 0, done.stderr
    assert HELLO_LINE.search(done.stderr), done.stderr
    done = venv.run("python", "manage.py", "compute_data", cwd=pipeline)
    assert done.returncode == 0, done.stderr
    assert COMPUTED_LINE.search(done.stderr), done.stderr


def _requirements(venv: SdistVenv) -> Path:
    pipeline = venv.workdir / "requirements_pipeline"
    if not pipeline.exists():
        done = venv.run("outflow", "management", "create", "pipeline", pipeline.name)
        assert done.returncode == 0, done.stderr
    return pipeline / "requirements.txt"


def test_generated_requirements_resolve_to_our_versions(sdist_venv: SdistVenv,
                                                        wheelhouse, tmp_path: Path) -> None:
    requirements = _requirements(sdist_venv)
    listed = [line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines()]
    assert [line for line in listed if line] == [
        f"{name}>={KERNEL_VERSION},<2"
        for name in ("outflow", "outflow-management", "outflow-sequential")]

    report = tmp_path / "report.json"
    # As in a fresh environment (--ignore-installed): what would `pip install -r` take?
    done = sdist_venv.pip("install", "--dry-run", "--ignore-installed", "-q", "--report",
                          str(report), "-r", str(requirements),
                          "--find-links", str(wheelhouse.directory), cwd=requirements.parent)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    chosen = {item["metadata"]["name"].lower(): item["metadata"]["version"]
              for item in json.loads(report.read_text())["install"]}
    assert {name: chosen.get(name) for name in OURS} == dict.fromkeys(OURS, KERNEL_VERSION)
    assert "click" in chosen and "sqlalchemy" in chosen  # the dependencies resolve too


def test_generated_requirements_never_take_the_unrelated_outflow(sdist_venv: SdistVenv,
                                                                 tmp_path: Path) -> None:
    """Without our distributions at hand, pip finds no outflow 1.x: it fails rather than
    install 0.9 (or, were a 1.x published, takes that)."""
    requirements = _requirements(sdist_venv)
    report = tmp_path / "report.json"
    done = sdist_venv.pip("install", "--dry-run", "--ignore-installed", "-q", "--report",
                          str(report), "-r", str(requirements), cwd=requirements.parent)
    if done.returncode != 0:
        assert re.search(r"No matching distribution found for outflow", done.stderr), done.stderr
        return
    chosen = {item["metadata"]["name"].lower(): item["metadata"]["version"]
              for item in json.loads(report.read_text())["install"]}
    assert re.match(r"1\.", chosen["outflow"]), chosen
