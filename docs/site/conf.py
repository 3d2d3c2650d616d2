# The HTML documentation of nimbus.compute: every module, filter and role, as
# docs.ansible.com renders a collection (made with antsibull-docs sphinx-init,
# antsibull-docs 2.28.0). Built by docs/site/build.sh (make docs) into
# build/docs/html; tests/unit/test_docs_site.py builds it and looks for each page.

import os

project = "nimbus.compute"
copyright = "nimbus.compute contributors"
title = "nimbus.compute Documentation"
html_short_title = "nimbus.compute"

extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx", "sphinx_antsibull_ext"]
pygments_style = "ansible"
highlight_language = "YAML+Jinja"
html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

# Links into Ansible's own documentation (the pages' "common return values",
# "action plugins" and "configuration settings" references) resolve through
# its object inventory, fetched at build time. NIMBUS_DOCS_OFFLINE=1 builds
# without it (no network here): those three references stay unresolved.
intersphinx_mapping = {
    "python3": ("https://docs.python.org/3/", None),
    "ansible_devel": ("https://docs.ansible.com/projects/ansible/devel/", None),
}
if os.environ.get("NIMBUS_DOCS_OFFLINE"):
    intersphinx_mapping = {}

default_role = "any"
nitpicky = True
