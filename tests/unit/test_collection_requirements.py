"""make deps installs the collections of requirements.yml, each at its pinned version, into build/collections."""

from __future__ import annotations

import json
import pathlib

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
REQUIREMENTS = yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]


def test_every_required_collection_is_installed_at_its_pinned_version():
    assert {pathlib.Path(entry["name"]).parts[-2:] for entry in REQUIREMENTS} == {
        ("community", "libvirt"),
        ("ansible", "posix"),
    }
    for entry in REQUIREMENTS:
        namespace, name = pathlib.Path(entry["name"]).parts[-2:]
        manifest = REPO / "build/collections/ansible_collections" / namespace / name / "MANIFEST.json"
        info = json.loads(manifest.read_text())["collection_info"]
        assert (info["namespace"], info["name"], info["version"]) == (namespace, name, entry["version"])
