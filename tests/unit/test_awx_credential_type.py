"""extensions/awx/credential_type_store.yml: the AWX credential type of the store.

AWX checks a custom credential type against JSON schemas and a few rules of
its own when it is created (awx/main/fields.py: CredentialTypeInputField,
CredentialTypeInjectorField; the API's CredentialTypeSerializer), and renders
each ``env`` injector with Jinja's sandbox when a job starts
(CredentialType.inject_credential).  ``awx_problems`` and ``inject_env`` are
those, without Django, so the file is checked and rendered as AWX would.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import URL_ENV

CREDENTIAL_TYPE = Path(__file__).resolve().parents[2] / "extensions" / "awx" / "credential_type_store.yml"

# libpq's environment variables for the user and the password (PostgreSQL's
# documentation, "Environment Variables"); the store's psycopg hands the URL
# to libpq, which fills in what the URL leaves out from these.
LIBPQ_USER_ENV = "PGUSER"
LIBPQ_PASSWORD_ENV = "PGPASSWORD"

# What AWX replaces a secret with in the environment it records for the job.
AWX_MASK = "**********"
# awx/main/constants.py ENV_BLOCKLIST; names starting with ANSIBLE_ are refused too.
AWX_ENV_BLOCKLIST = frozenset(
    {
        "VIRTUAL_ENV",
        "PATH",
        "PYTHONPATH",
        "PROOT_TMP_DIR",
        "JOB_ID",
        "INVENTORY_ID",
        "INVENTORY_SOURCE_ID",
        "INVENTORY_UPDATE_ID",
        "AD_HOC_COMMAND_ID",
        "REST_API_URL",
        "REST_API_TOKEN",
        "MAX_EVENT_RES",
        "CALLBACK_QUEUE",
        "CALLBACK_CONNECTION",
        "CACHE",
        "JOB_CALLBACK_DEBUG",
        "INVENTORY_HOSTVARS",
        "FACT_QUEUE",
        "AWX_HOST",
        "PROJECT_REVISION",
        "SUPERVISOR_WEB_CONFIG_PATH",
    }
)
AWX_INPUTS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "required": {"type": "array", "items": {"type": "string"}},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"enum": ["string", "boolean"]},
                    "format": {"enum": ["ssh_private_key", "url"]},
                    "choices": {"type": "array", "minItems": 1, "items": {"type": "string"}, "uniqueItems": True},
                    "id": {"type": "string", "pattern": "^[a-zA-Z_]+[a-zA-Z0-9_]*$"},
                    "label": {"type": "string"},
                    "help_text": {"type": "string"},
                    "multiline": {"type": "boolean"},
                    "secret": {"type": "boolean"},
                    "ask_at_runtime": {"type": "boolean"},
                    "default": {},
                },
                "additionalProperties": False,
                "required": ["id", "label"],
            },
        },
    },
}
AWX_INJECTORS_SCHEMA = {
    "type": "object",
    "properties": {
        "file": {
            "type": "object",
            "patternProperties": {r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$": {"type": "string"}},
            "additionalProperties": False,
        },
        "env": {
            "type": "object",
            "patternProperties": {"^[a-zA-Z_]+[a-zA-Z0-9_]*$": {"type": "string", "pattern": "^[\x00-\x7f]*$"}},
            "additionalProperties": False,
        },
        "extra_vars": {
            "type": "object",
            "patternProperties": {"^[a-zA-Z_]+[a-zA-Z0-9_]*$": {"type": "string"}},
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

URL = "postgresql://nimbus@db.example.org:5432/nimbus"


def load_credential_type() -> dict[str, Any]:
    return yaml.safe_load(CREDENTIAL_TYPE.read_text())


def secret_fields(credential_type: dict[str, Any]) -> set[str]:
    return {field["id"] for field in credential_type["inputs"].get("fields", []) if field.get("secret") is True}


def awx_problems(credential_type: dict[str, Any]) -> list[str]:
    """What AWX's API would refuse in ``credential_type``: [] when it takes it."""
    problems = [
        f"{part}: {error.message}"
        for part, schema in (("inputs", AWX_INPUTS_SCHEMA), ("injectors", AWX_INJECTORS_SCHEMA))
        for error in jsonschema.Draft4Validator(schema).iter_errors(credential_type.get(part, {}))
    ]
    if credential_type.get("kind") not in ("cloud", "net"):
        problems.append(f"kind: must be 'cloud' or 'net', not {credential_type.get('kind')}")
    if not credential_type.get("name"):
        problems.append("name: required")
    fields = credential_type.get("inputs", {}).get("fields", [])
    ids = [field.get("id") for field in fields]
    if len(set(ids)) != len(ids) or "tower" in ids:
        problems.append(f"inputs: field ids must be unique and not 'tower': {ids}")
    problems += [
        f"inputs: {field['id']}: ask_at_runtime is for AWX's own types" for field in fields if "ask_at_runtime" in field
    ]
    problems += [
        f"injectors: environment variable {name} is not allowed"
        for name in credential_type.get("injectors", {}).get("env", {})
        if name.startswith("ANSIBLE_") or name in AWX_ENV_BLOCKLIST
    ]
    # Every template must render against the defined fields alone.
    defined = dict.fromkeys(ids, "EXAMPLE")
    for kind, templates in credential_type.get("injectors", {}).items():
        for key, template in templates.items():
            try:
                ImmutableSandboxedEnvironment(undefined=StrictUndefined).from_string(template).render(defined)
            except TemplateError as exc:
                problems.append(f"injectors: {kind}.{key}: {exc}")
    return problems


def inject_env(credential_type: dict[str, Any], inputs: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The job's environment from ``credential_type``'s env injectors, and the one AWX records (secrets masked)."""
    secrets = secret_fields(credential_type)
    namespace: dict[str, Any] = {}
    safe_namespace: dict[str, Any] = {}
    # As AWX: empty inputs are left out (so they render as ""), booleans are never secret.
    for name, value in inputs.items():
        if isinstance(value, bool):
            namespace[name] = safe_namespace[name] = value
            continue
        if name in secrets:
            safe_namespace[name] = AWX_MASK
        elif value:
            safe_namespace[name] = value
        if value:
            namespace[name] = value
    sandbox = ImmutableSandboxedEnvironment()
    env: dict[str, str] = {}
    safe_env: dict[str, str] = {}
    for name, template in credential_type["injectors"].get("env", {}).items():
        env[name] = sandbox.from_string(template).render(**namespace)
        safe_env[name] = sandbox.from_string(template).render(**safe_namespace)
    return env, safe_env


def test_awx_takes_the_credential_type():
    assert awx_problems(load_credential_type()) == []


REMOVED = object()


def changed(document: dict[str, Any], path: tuple[str | int, ...], value: Any = REMOVED) -> dict[str, Any]:
    """A copy of ``document`` with the item at ``path`` set to ``value``, or removed."""
    result = copy.deepcopy(document)
    parent = result
    for key in path[:-1]:
        parent = parent[key]
    if value is REMOVED:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return result


# The same checks refuse what AWX refuses, so a passing run means something.
@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("kind",), "ssh", "kind: must be 'cloud' or 'net'"),
        (("inputs", "fields", 0, "label"), REMOVED, "'label' is a required property"),
        (("injectors", "env", "PGPASSWORD"), "{{ pasword }}", "'pasword' is undefined"),
        (("injectors", "env", "ANSIBLE_X"), "{{ url }}", "ANSIBLE_X is not allowed"),
        (("injectors", "env", "PATH"), "{{ url }}", "PATH is not allowed"),
        (("inputs", "fields", 2, "ask_at_runtime"), True, "ask_at_runtime"),
        (("injectors", "files"), {}, "'files' was unexpected"),
    ],
    ids=["kind", "label", "undefined-field", "ansible-env", "blocked-env", "ask-at-runtime", "unknown-injector"],
)
def test_awx_refuses_a_broken_credential_type(path, value, problem):
    problems = awx_problems(changed(load_credential_type(), path, value))
    assert any(problem in text for text in problems), problems


@pytest.mark.parametrize(
    "inputs",
    [
        {"url": URL, "user": "nimbus", "password": "s3cret"},
        # Rendered once: a password that looks like a template, or holds quotes and
        # spaces, reaches libpq as it is.
        {"url": "postgresql://db.example.org/nimbus", "user": "awx_jobs", "password": "{{ url }} 'x' \"y\" %z"},
    ],
    ids=["plain", "template-like-password"],
)
def test_the_job_gets_exactly_the_store_environment(inputs):
    env, safe_env = inject_env(load_credential_type(), inputs)
    assert env == {URL_ENV: inputs["url"], LIBPQ_USER_ENV: inputs["user"], LIBPQ_PASSWORD_ENV: inputs["password"]}
    # What AWX keeps in the job's record: everything but the password.
    assert safe_env == {**env, LIBPQ_PASSWORD_ENV: AWX_MASK}


def test_an_empty_user_reaches_libpq_empty():
    # AWX renders a field left empty as "", and libpq takes an empty PGUSER
    # as none: the URL's user, else the OS user, applies.
    env = inject_env(load_credential_type(), {"url": URL, "password": "s3cret"})[0]
    assert env[LIBPQ_USER_ENV] == ""


def test_only_the_password_is_secret():
    credential_type = load_credential_type()
    assert secret_fields(credential_type) == {"password"}
    assert [field["id"] for field in credential_type["inputs"]["fields"]] == ["url", "user", "password"]
    assert credential_type["inputs"]["required"] == ["url"]


def test_it_injects_only_what_the_store_reads():
    injectors = load_credential_type()["injectors"]
    # No extra_vars (they would show in the job's variables) and no files.
    assert set(injectors) == {"env"}
    assert set(injectors["env"]) == {URL_ENV, LIBPQ_USER_ENV, LIBPQ_PASSWORD_ENV}
