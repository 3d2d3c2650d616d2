"""libvirt's own schemas, as the tests read our XML back with them (virt-xml-validate, from libvirt-clients)."""

from __future__ import annotations

import shutil
import subprocess


def assert_valid(xml: str, kind: str, tmp_path) -> None:
    """libvirt's schema for ``kind`` (domain, network, nwfilter) accepts ``xml``."""
    assert shutil.which("virt-xml-validate"), "virt-xml-validate (libvirt-clients) is needed"
    path = tmp_path / f"{kind}.xml"
    path.write_text(xml)
    run = subprocess.run(["virt-xml-validate", str(path), kind], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
