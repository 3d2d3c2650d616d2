"""The HTML documentation (docs/site/build.sh, make docs): a page for every module, filter and role.

Built the way docs.ansible.com renders a collection (antsibull-docs, then
Sphinx), offline: the only warnings allowed are the links into Ansible's own
documentation that its online object inventory resolves.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
# Labels of Ansible's documentation that antsibull-docs' pages link to.
ANSIBLE_DOCS_LABELS = {"action_plugins", "common_return_values", "ansible_configuration_settings"}


def documented(kind: str) -> dict[str, str]:
    """Plugin name -> short_description, read from each plugin's DOCUMENTATION."""
    plugins = {}
    for path in sorted((REPO / "plugins" / kind).glob("*.py")):
        match = re.search(r'DOCUMENTATION = r?"""(.*?)"""', path.read_text(), re.S)
        if match:
            doc = yaml.safe_load(match.group(1))
            plugins[doc.get("name") or doc.get("module")] = doc["short_description"]
    return plugins


def roles() -> dict[str, str]:
    specs = {}
    for path in sorted((REPO / "roles").glob("*/meta/argument_specs.yml")):
        specs[path.parent.parent.name] = yaml.safe_load(path.read_text())["argument_specs"]["main"]["short_description"]
    return specs


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    dest = tmp_path_factory.mktemp("docs")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / "build/collections"),
        "NIMBUS_DOCS_OFFLINE": "1",
    }
    build = subprocess.run(
        [str(REPO / "docs/site/build.sh"), str(dest)], capture_output=True, text=True, env=env, check=False
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return dest


def page_text(path: Path) -> str:
    """The page's text, its whitespace collapsed and Sphinx's typographic apostrophes plain again."""
    text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text())).replace("\u2019", "'")
    return " ".join(text.split())


def test_every_warning_is_a_link_into_ansibles_own_documentation(site):
    warnings = [line for line in (site / "warnings.txt").read_text().splitlines() if "WARNING" in line]
    labels = {match.group(1) for line in warnings if (match := re.search(r"undefined label: '([^']+)'", line))}
    assert [line for line in warnings if "undefined label" not in line] == []
    assert labels <= ANSIBLE_DOCS_LABELS


@pytest.mark.parametrize(("kind", "suffix"), [("modules", "module"), ("filter", "filter")])
def test_every_plugin_has_its_page(site, kind, suffix):
    plugins = documented(kind)
    assert len(plugins) >= (13 if kind == "modules" else 5)
    pages = site / "html/collections/nimbus/compute"
    for name, short_description in plugins.items():
        page = pages / f"{name}_{suffix}.html"
        assert page.is_file(), page
        text = page_text(page)
        assert f"nimbus.compute.{name}" in text
        assert " ".join(short_description.split()) in text, name


def test_every_role_has_its_page(site):
    specs = roles()
    assert sorted(specs) == ["build_instance", "compute_host", "delete_instance"]
    for name, short_description in specs.items():
        page = site / "html/collections/nimbus/compute" / f"{name}_role.html"
        assert page.is_file(), page
        assert " ".join(short_description.split()) in page_text(page), name
