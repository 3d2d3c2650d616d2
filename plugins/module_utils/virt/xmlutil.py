# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""lxml, imported once for every virt module that reads or writes XML.

Guarded because ansible-test sanity imports module_utils without lxml.
"""

from __future__ import annotations

import traceback

__all__ = ["HAS_LXML", "LXML_IMPORT_ERROR", "etree"]

try:
    from lxml import etree

    HAS_LXML = True
    LXML_IMPORT_ERROR: str | None = None
except ImportError:
    etree = None
    HAS_LXML = False
    LXML_IMPORT_ERROR = traceback.format_exc()
