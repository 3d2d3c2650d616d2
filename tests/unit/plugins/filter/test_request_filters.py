"""The filters create_instance.yml uses to find a request's failed builds, through Jinja as a playbook runs them."""

import jinja2

from ansible_collections.nimbus.compute.plugins.filter import failed_builds, request_names


def render(template, **variables):
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.filters.update(request_names.FilterModule().filters())
    environment.filters.update(failed_builds.FilterModule().filters())
    return environment.from_string(template).render(**variables)


def test_a_multi_create_request_names_its_instances():
    assert render("{{ request | request_names | join(',') }}", request={"name": "web", "max_count": 3}) == (
        "web-1,web-2,web-3"
    )


def test_the_failed_builds_of_a_request():
    instances = [
        {"name": "web-1", "uuid": "u1", "vm_state": "active"},
        {"name": "web-2", "uuid": "u2", "vm_state": "error"},
        {"name": "other", "uuid": "u3", "vm_state": "error"},
    ]
    template = "{{ instances | failed_builds(request | request_names) | map(attribute='uuid') | join(',') }}"
    assert render(template, instances=instances, request={"name": "web", "min_count": 2}) == "u2"
