#!/usr/bin/env python
"""Write every module's argument spec from its documentation: one source for both.

Each module's DOCUMENTATION (with its doc fragments, read by Ansible's own doc
loader, as ansible-doc reads it) gives the type, required, default, choices,
elements and suboptions of every option; this writes them as the argument
specs in plugins/module_utils/compute/option_specs.py, which the modules and
their action plugins validate with (argspecs.py adds the rules between
options). Run it after changing a module's options; `--check` (make lint,
tests/unit/test_option_specs.py) fails when the file is not what the
documentation gives.

    tools/option_specs.py [--check]
"""

from __future__ import annotations

import pathlib
import pprint
import subprocess
import sys
import tempfile
from typing import Any

from ansible.plugins.loader import fragment_loader, init_plugin_loader
from ansible.utils.plugin_docs import get_docstring

REPO = pathlib.Path(__file__).resolve().parent.parent
TARGET = REPO / "plugins/module_utils/compute/option_specs.py"
# Options whose values are secrets, at any depth: no_log, which documentation has no key for.
SECRET_OPTIONS = frozenset({"admin_pass", "files", "store_password", "user_data"})

HEADER = '''\
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's argument spec, as its documentation gives it.

Written by tools/option_specs.py from the modules' DOCUMENTATION: do not edit,
change the documentation and run the tool (make lint checks the two agree).
"""

from __future__ import annotations
'''


def option_spec(name: str, doc: dict[str, Any]) -> dict[str, Any]:
    """The argument spec of one documented option (and of its suboptions)."""
    spec: dict[str, Any] = {"type": doc.get("type", "str")}
    for key in ("elements", "choices", "default"):
        if doc.get(key) is not None:
            spec[key] = doc[key]
    if doc.get("required"):
        spec["required"] = True
    if name in SECRET_OPTIONS:
        spec["no_log"] = True
    if "suboptions" in doc:
        spec["options"] = options_spec(doc["suboptions"])
    return spec


def options_spec(options: dict[str, Any]) -> dict[str, Any]:
    return {name: option_spec(name, doc) for name, doc in sorted(options.items())}


def module_docs() -> dict[str, dict[str, Any]]:
    """Each module's documentation with its fragments merged, as ansible-doc shows it."""
    init_plugin_loader([str(REPO / "build/collections")])
    docs = {}
    for path in sorted((REPO / "plugins/modules").glob("*.py")):
        if path.name == "__init__.py":
            continue
        doc = get_docstring(str(path), fragment_loader, collection_name="nimbus.compute", is_module=True)[0]
        docs[path.stem] = doc
    return docs


def literal(value: Any) -> str:
    return pprint.pformat(value, width=120, sort_dicts=False)


def render() -> str:
    """option_specs.py as the documentation gives it, formatted as ruff formats it."""
    specs = {module: options_spec(doc.get("options") or {}) for module, doc in module_docs().items()}
    # An option with suboptions that several modules share alike (a doc fragment's) is written once.
    shared: dict[str, dict[str, Any]] = {}
    for spec in specs.values():
        for option, value in spec.items():
            alike = sum(other.get(option) == value for other in specs.values())
            if "options" in value and alike > 1:
                shared.setdefault(option, value)
    body = [HEADER]
    for option, value in shared.items():
        # Fields written once too: instance and instances of the compute-host steps have the same.
        same_fields = next(
            (other for other, earlier in shared.items() if earlier["options"] == value["options"]), option
        )
        if same_fields == option:
            body.append(f"{option.upper()} = {literal(value)}\n")
        else:
            fields = [f"{key!r}: {literal(item)}" for key, item in value.items() if key != "options"]
            fields.append(f"'options': {same_fields.upper()}['options']")
            body.append(f"{option.upper()} = {{{', '.join(fields)}}}\n")
    for module, spec in specs.items():
        fields = [
            f"{option!r}: {option.upper() if shared.get(option) == value else literal(value)}"
            for option, value in spec.items()
        ]
        body.append(f"{module.upper()} = {{{', '.join(fields)}}}\n")
    source = "\n".join(body)
    with tempfile.TemporaryDirectory() as work:
        draft = pathlib.Path(work) / TARGET.name
        draft.write_text(source)
        ruff = pathlib.Path(sys.executable).parent / "ruff"
        config = str(REPO / "pyproject.toml")
        subprocess.run([str(ruff), "format", "--quiet", "--config", config, str(draft)], check=True)
        return draft.read_text()


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if TARGET.read_text() != text:
            print(f"{TARGET.relative_to(REPO)} differs from the modules' documentation: run tools/option_specs.py")
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
