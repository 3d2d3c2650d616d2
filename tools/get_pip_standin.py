"""Offline stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test (``--venv``/``--local``) fetches ``get-pip-<version>.py`` from a
host these machines cannot reach, and looks in
``~/.ansible/test/cache/get_pip_<version>.py`` first.  It runs that file as
``__main__`` inside a fresh virtualenv created without pip, with pip-install
arguments such as ``--disable-pip-version-check pip==24.2 --no-setuptools
--no-wheel``.  This stand-in bootstraps pip from the interpreter's own
``ensurepip`` and then asks that pip for the requested packages from the
package index; the options current pip no longer knows are dropped.
"""

from __future__ import annotations

import subprocess
import sys

# get-pip.py options that modern pip's install command rejects.
GET_PIP_ONLY_OPTIONS = frozenset({"--no-setuptools", "--no-wheel"})


def pip_install_arguments(argv: list[str]) -> list[str]:
    """Return the get-pip arguments that pip install understands."""
    return [arg for arg in argv if arg not in GET_PIP_ONLY_OPTIONS]


def main() -> int:
    subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True)
    args = pip_install_arguments(sys.argv[1:])
    if args:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
