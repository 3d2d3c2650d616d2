"""execution-environment.yml: the build context ``ansible-builder create`` writes from it.

No container can be built here.  Besides reading the context, the test runs
each build stage's own step that needs no container, on this machine and in
the context: the galaxy stage's ``ansible-galaxy collection install -r
requirements.yml`` in ``_build/`` (the stage's WORKDIR /build is a copy of
it), the builder stage's ``introspect.py`` with the Containerfile's own
arguments (the requirements pip and bindep are given), and bindep's rules for
CentOS Stream 9 (what dnf installs in the builder stage and in the image).
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from bindep import depends
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EE_FILE = "execution-environment.yml"
# Where execution-environment.yml's additional_build_files takes the tarball from.
TARBALL_DIR = Path("build/ee")
# What lands in the context's _build/ (ansible-builder's names) and the file
# of ours each must be a copy of.
CONTEXT_FILES = {
    "requirements.txt": "requirements.txt",
    "bindep.txt": "meta/ee-bindep.txt",
    "requirements.yml": "meta/ee-requirements.yml",
}
# The Containerfile lines that use them.
CONTAINERFILE_LINES = (
    "COPY _build/requirements.txt requirements.txt",
    "COPY _build/bindep.txt bindep.txt",
    "--user-pip=requirements.txt --user-bindep=bindep.txt",
    "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml",
)

# What dnf installs on CentOS Stream 9, by bindep profile: "default" is the
# final image (install-from-bindep), "compile" the builder stage, where
# libvirt-python's wheel is built.
EL9_PACKAGES = {
    "default": {"libvirt-libs", "openssh-clients"},
    "compile": {"libvirt-libs", "openssh-clients", "libvirt-devel", "gcc", "pkgconfig", "python3.11-devel"},
}


def run(argv: list[Any], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(arg) for arg in argv], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{shlex.join(map(str, argv))} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def galaxy_info() -> dict[str, Any]:
    return yaml.safe_load((REPO / "galaxy.yml").read_text())


def tarball_name() -> str:
    info = galaxy_info()
    return f"{info['namespace']}-{info['name']}-{info['version']}.tar.gz"


def definition() -> dict[str, Any]:
    return yaml.safe_load((REPO / EE_FILE).read_text())


def create_context(project: Path, context: Path) -> Path:
    """``ansible-builder create`` of ``project``'s execution-environment.yml into ``context``."""
    create = [BIN / "ansible-builder", "create", "--file", EE_FILE, "--context", context]
    run([*create, "--output-filename", "Containerfile"], cwd=project)
    return context


def collection_identity(tarball: Path) -> tuple[str, str, str]:
    """Namespace, name and version of the collection in ``tarball``."""
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("MANIFEST.json")
        assert member is not None
        info = json.load(member)["collection_info"]
    return info["namespace"], info["name"], info["version"]


def context_problems(context: Path) -> list[str]:
    """What the build context lacks of what this EE must bring: [] when it is whole."""
    build = context / "_build"
    containerfile = context / "Containerfile"
    if not containerfile.is_file():
        return ["no Containerfile"]
    problems = [f"Containerfile: no {line!r}" for line in CONTAINERFILE_LINES if line not in containerfile.read_text()]
    for name, ours in CONTEXT_FILES.items():
        if not (build / name).is_file():
            problems.append(f"_build/{name} is missing (from {ours})")
        elif (build / name).read_bytes() != (REPO / ours).read_bytes():
            problems.append(f"_build/{name} is not {ours}")
    if not (build / "requirements.yml").is_file():
        return problems
    # The galaxy stage installs from /build, its copy of _build/: each tarball
    # the requirements name must be there, and be this collection as galaxy.yml says.
    wanted = tuple(galaxy_info()[key] for key in ("namespace", "name", "version"))
    tarballs = [
        entry["name"]
        for entry in yaml.safe_load((build / "requirements.yml").read_text())["collections"]
        if entry.get("type") == "file"
    ]
    if not tarballs:
        problems.append("_build/requirements.yml installs no collection tarball")
    for name in tarballs:
        if not (build / name).is_file():
            problems.append(f"_build/{name} is missing (ansible-galaxy collection build --output-path {TARBALL_DIR})")
            continue
        found = collection_identity(build / name)
        if found != wanted:
            problems.append(f"_build/{name} holds {found}, galaxy.yml says {wanted}")
    return problems


@pytest.fixture(scope="module")
def tarball() -> Path:
    """This checkout as a collection tarball, where execution-environment.yml takes it from."""
    # Built aside and renamed into place, so a test run beside this one never
    # reads a half-written tarball.
    (REPO / TARBALL_DIR).mkdir(parents=True, exist_ok=True)
    aside = Path(tempfile.mkdtemp(prefix=".building-", dir=REPO / TARBALL_DIR))
    try:
        run([BIN / "ansible-galaxy", "collection", "build", "--output-path", aside, REPO], cwd=REPO)
        built = REPO / TARBALL_DIR / tarball_name()
        os.replace(aside / tarball_name(), built)
    finally:
        shutil.rmtree(aside)
    return built


@pytest.fixture(scope="module")
def context(tarball, tmp_path_factory) -> Path:
    return create_context(REPO, tmp_path_factory.mktemp("ee") / "context")


@pytest.fixture(scope="module")
def installed_collections(context, tmp_path_factory) -> Path:
    """The galaxy stage: ``ansible-galaxy collection install -r requirements.yml`` in _build/."""
    scratch = tmp_path_factory.mktemp("galaxy")
    # Neither this checkout's ansible.cfg nor the caller's ANSIBLE_* settings.
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env |= {"HOME": str(scratch / "home"), "ANSIBLE_GALAXY_DISABLE_GPG_VERIFY": "1"}
    collections = scratch / "collections"
    run(
        [BIN / "ansible-galaxy", "collection", "install", "-r", "requirements.yml", "--collections-path", collections],
        cwd=context / "_build",
        env=env,
    )
    return collections


@pytest.fixture(scope="module")
def builder_requirements(context, installed_collections, tmp_path_factory) -> dict[str, list[str]]:
    """The builder stage's introspect.py, with the Containerfile's own arguments: the lines pip and bindep get."""
    out = tmp_path_factory.mktemp("builder")
    written = {"--write-pip": out / "requirements.txt", "--write-bindep": out / "bindep.txt"}
    command = next(line for line in (context / "Containerfile").read_text().splitlines() if "introspect.py" in line)
    args = []
    for arg in shlex.split(command.split(" introspect ", 1)[1]):
        option = arg.split("=", 1)[0]
        args.append(f"{option}={written[option]}" if option in written else arg)
    run([sys.executable, "scripts/introspect.py", "introspect", installed_collections, *args], cwd=context / "_build")
    return {
        "python": written["--write-pip"].read_text().splitlines(),
        "system": written["--write-bindep"].read_text().splitlines(),
    }


def el9_profiles(monkeypatch) -> list[str]:
    """bindep's platform profiles in quay.io/centos/centos:stream9 (os-release: ID centos, VERSION_ID 9)."""
    monkeypatch.setattr(depends.platform, "system", lambda: "Linux")
    monkeypatch.setattr(depends.distro, "id", lambda: "centos")
    monkeypatch.setattr(depends.distro, "codename", lambda: "")
    monkeypatch.setattr(depends.distro, "version", lambda: "9")
    monkeypatch.setattr(depends.distro, "name", lambda: "CentOS Stream")
    return depends.Depends("").platform_profiles()


def pin(package_pip: str) -> str:
    """A pip requirement's pin, as ``name==version`` (without extras); fails unless it pins with ``==``."""
    requirement = Requirement(package_pip)
    (specifier,) = requirement.specifier
    assert specifier.operator == "=="
    return f"{requirement.name}=={specifier.version}"


def requirement_pins(path: Path) -> dict[str, str]:
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return {Requirement(line).name: pin(line) for line in lines if line and not line.startswith("-")}


def test_the_build_context_brings_everything(context):
    assert context_problems(context) == []


def test_the_containerfile_builds_on_the_chosen_base(context):
    dependencies = definition()["dependencies"]
    containerfile = (context / "Containerfile").read_text()
    assert f'ARG EE_BASE_IMAGE="{definition()["images"]["base_image"]["name"]}"' in containerfile
    assert f'ARG PYCMD="{dependencies["python_interpreter"]["python_path"]}"' in containerfile
    refs = f"{dependencies['ansible_core']['package_pip']} {dependencies['ansible_runner']['package_pip']}"
    assert f'ARG ANSIBLE_INSTALL_REFS="{refs}"' in containerfile
    # CRB (libvirt-devel) is enabled in the builder stage before it assembles the wheels.
    builder = containerfile.split("FROM base AS builder", 1)[1].split("FROM base AS final", 1)[0]
    assert builder.index("config-manager --set-enabled crb") < builder.index("RUN /output/scripts/assemble")


def test_the_ee_pins_what_the_tests_run():
    dependencies = definition()["dependencies"]
    core = requirement_pins(REPO / "requirements.txt")["ansible-core"]
    runner = requirement_pins(REPO / "requirements-test.txt")["ansible-runner"]
    assert pin(dependencies["ansible_core"]["package_pip"]) == core
    assert pin(dependencies["ansible_runner"]["package_pip"]) == runner


def test_the_galaxy_stage_installs_this_collection(installed_collections):
    root = installed_collections / "ansible_collections" / "nimbus" / "compute"
    info = json.loads((root / "MANIFEST.json").read_text())["collection_info"]
    assert info["version"] == galaxy_info()["version"]
    for path in ("plugins/modules/host_select.py", "plugins/module_utils/store/factory.py", "roles/build_instance"):
        assert (root / path).exists(), path


def test_pip_gets_the_controller_requirements(builder_requirements):
    lines = builder_requirements["python"]
    # The installed collection's own requirements.txt and bindep.txt are excluded.
    assert not [line for line in lines if "from collection nimbus.compute" in line]
    requirements = {req.name: req for req in (Requirement(line.split("#")[0]) for line in lines)}
    assert pin(str(requirements["ansible-core"])) == pin(definition()["dependencies"]["ansible_core"]["package_pip"])
    # The binary wheel brings its own libpq: no PostgreSQL package in the image.
    assert requirements["psycopg"].extras == {"binary"}
    assert "libvirt-python" in requirements
    assert {name: pin(str(req)) for name, req in requirements.items()} == requirement_pins(REPO / "requirements.txt")


@pytest.mark.parametrize(("profile", "packages"), sorted(EL9_PACKAGES.items()))
def test_dnf_gets_only_what_the_controller_needs(builder_requirements, monkeypatch, profile, packages):
    platform = el9_profiles(monkeypatch)
    assert "platform:rpm" in platform
    assert "platform:dpkg" not in platform
    rules = depends.Depends("\n".join(builder_requirements["system"]) + "\n").active_rules([profile, *platform])
    assert {rule[0] for rule in rules} == packages


def mutant_project(tmp_path: Path, tarball: Path, change) -> Path:
    """A copy of what execution-environment.yml reads, its definition changed by ``change``."""
    project = tmp_path / "project"
    for ours in [*CONTEXT_FILES.values(), "bindep.txt"]:
        (project / ours).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / ours, project / ours)
    (project / TARBALL_DIR).mkdir(parents=True)
    shutil.copyfile(tarball, project / TARBALL_DIR / tarball.name)
    changed = copy.deepcopy(definition())
    change(changed)
    (project / EE_FILE).write_text(yaml.safe_dump(changed))
    return project


def unchanged(ee: dict[str, Any]) -> None:
    """Leaves ``ee`` as it is: the copy itself must give a whole context."""


# The checks above fail when the EE drops what it must bring.
@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (unchanged, None),
        (lambda ee: ee["dependencies"].pop("python"), "_build/requirements.txt is missing"),
        (lambda ee: ee["dependencies"].pop("system"), "_build/bindep.txt is missing"),
        (lambda ee: ee["dependencies"].update(system="bindep.txt"), "_build/bindep.txt is not meta/ee-bindep.txt"),
        (lambda ee: ee["dependencies"].pop("galaxy"), "_build/requirements.yml is missing"),
        (lambda ee: ee.pop("additional_build_files"), f"_build/collections/{tarball_name()} is missing"),
    ],
    ids=["unchanged", "no-python", "no-system", "wrong-system", "no-galaxy", "no-tarball"],
)
def test_a_context_without_a_requirement_fails(tarball, tmp_path, change, problem):
    problems = context_problems(create_context(mutant_project(tmp_path, tarball, change), tmp_path / "context"))
    if problem is None:
        assert problems == []
    else:
        assert any(text.startswith(problem) for text in problems), problems
