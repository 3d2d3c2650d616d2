"""module_defaults groups (meta/runtime.yml action_groups), read and applied by Ansible itself.

Each group lists the modules whose documentation takes one fragment's options,
so a default set for the group is an option every module of it accepts. The
test runs ansible-playbook: a probe option given only through
``module_defaults: group/nimbus.compute.NAME`` must reach every module of the
group (Ansible refuses it there as unsupported, naming it) and no other.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(path.stem for path in (REPO / "plugins/modules").glob("*.py") if path.stem != "__init__")
GROUPS = yaml.safe_load((REPO / "meta/runtime.yml").read_text())["action_groups"]
# A group and the documentation fragment whose options its modules share.
FRAGMENTS = {
    "store": "nimbus.compute.store",
    "libvirt": "nimbus.compute.libvirt",
    "notifications": "nimbus.compute.notifications",
}
PROBE = "nimbus_group_probe"
DUMMY = {"str": "x", "path": "x", "raw": "x", "list": [], "dict": {}, "int": 0, "bool": False, "float": 0.0}


def fragments_of(module: str) -> list[str]:
    source = (REPO / "plugins/modules" / f"{module}.py").read_text()
    documentation = re.search(r'DOCUMENTATION = r?"""(.*?)"""', source, re.S).group(1)
    return yaml.safe_load(documentation).get("extends_documentation_fragment") or []


def test_every_group_lists_exactly_the_modules_of_its_fragment():
    assert sorted(GROUPS) == sorted(FRAGMENTS)
    for group, fragment in FRAGMENTS.items():
        assert sorted(GROUPS[group]) == [module for module in MODULES if fragment in fragments_of(module)], group


def dummy(option: dict):
    """A value of the option's type (its first choice, when it has choices)."""
    return option["choices"][0] if option.get("choices") else DUMMY[option.get("type", "str")]


def minimal_args(module: str) -> dict:
    """Arguments that pass the module's own validation: its required options, one of each required_one_of."""
    action = importlib.import_module(f"ansible_collections.nimbus.compute.plugins.action.{module}").ActionModule
    spec = action.ARGUMENT_SPEC
    args = {name: dummy(option) for name, option in spec.items() if option.get("required")}
    for choices in action.REQUIRED_ONE_OF:
        args.setdefault(choices[0], dummy(spec[choices[0]]))
    for key, value, requirements, *_any in action.REQUIRED_IF:
        if args.get(key, spec[key].get("default")) == value:
            args.update({name: dummy(spec[name]) for name in requirements})
    return args


@pytest.mark.parametrize("group", sorted(FRAGMENTS))
def test_a_group_default_reaches_every_module_of_the_group_and_no_other(group, tmp_path):
    # Modules without an action plugin (instance_ssh_wait, image_cache) are in no group.
    modules = [module for module in MODULES if (REPO / "plugins/action" / f"{module}.py").exists()]
    results = tmp_path / "results.json"
    tasks = [
        {
            "name": module,
            f"nimbus.compute.{module}": minimal_args(module),
            "ignore_errors": True,
            "register": f"result_{module}",
        }
        for module in modules
    ]
    outcomes = "{" + ", ".join(f"'{module}': result_{module}.msg | default('')" for module in modules) + "}"
    tasks.append(
        {
            "ansible.builtin.copy": {"dest": str(results), "content": "{{ " + outcomes + " | to_json }}"},
            "check_mode": False,
        }
    )
    play = {
        "hosts": "localhost",
        "gather_facts": False,
        "module_defaults": {f"group/nimbus.compute.{group}": {PROBE: 1}},
        "tasks": tasks,
    }
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / "build/collections"),
        "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"),
        "ANSIBLE_LOCALHOST_WARNING": "false",
    }
    ansible_playbook = Path(sys.executable).parent / "ansible-playbook"
    interpreter = f"ansible_python_interpreter={sys.executable}"
    # --check: a module outside the group runs with its dummy arguments, and changes nothing.
    run = subprocess.run(
        [str(ansible_playbook), "-i", "localhost,", "-c", "local", "--check", "-e", interpreter, str(playbook)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    messages = json.loads(results.read_text())
    reached = sorted(module for module, message in messages.items() if PROBE in message)
    assert reached == sorted(GROUPS[group]), messages
    for module in GROUPS[group]:
        assert f"Unsupported parameters for ({module}) module" in (messages[module])
