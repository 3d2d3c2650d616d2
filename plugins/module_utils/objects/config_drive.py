# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a build request says about the config drive: its format and Nova's injected files.

Injected files are Nova's "personality": ``files`` is either Nova's API list
``[{path, contents}]`` with ``contents`` in base64, or novaclient's mapping
``{path: text}``.  Nova's quota defaults bound them (``injected_files`` 5,
``injected_file_content_bytes`` 10240, ``injected_file_path_bytes`` 255).
Their contents are secrets like ``user_data``: the instance record keeps only
each path and size (``record_fields``).

The format is ``config-2`` (Nova's OpenStack config drive) or ``nocloud``
(a cloud-init NoCloud seed, label ``cidata``), chosen by the request's
``config_drive_format`` or else the image property ``img_config_drive_format``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput

CONFIG_2 = "config-2"
NOCLOUD = "nocloud"
FORMATS = (CONFIG_2, NOCLOUD)
DEFAULT_FORMAT = CONFIG_2
REQUEST_KEY = "config_drive_format"
IMAGE_PROPERTY = "img_config_drive_format"

# Nova's quota defaults (nova/conf/quota.py).
MAX_INJECTED_FILES = 5
MAX_INJECTED_FILE_CONTENT_BYTES = 10240
MAX_INJECTED_FILE_PATH_BYTES = 255


def _check_path(field: str, path: Any, seen: set[str]) -> str:
    if not isinstance(path, str) or not path.startswith("/") or path.endswith("/"):
        raise InvalidInput(field, f"must be an absolute file path like /etc/motd, got {path!r}")
    if len(path.encode("utf-8")) > MAX_INJECTED_FILE_PATH_BYTES:
        raise InvalidInput(field, f"must be at most {MAX_INJECTED_FILE_PATH_BYTES} bytes (injected_file_path_bytes)")
    if "\0" in path or any(part in ("..", ".") for part in path.split("/")):
        raise InvalidInput(field, "must not contain NUL, '.' or '..' components")
    if path in seen:
        raise InvalidInput(field, f"{path} is given twice")
    seen.add(path)
    return path


def _check_size(field: str, contents: bytes) -> bytes:
    if len(contents) > MAX_INJECTED_FILE_CONTENT_BYTES:
        raise InvalidInput(
            field, f"must be at most {MAX_INJECTED_FILE_CONTENT_BYTES} bytes (injected_file_content_bytes)"
        )
    return contents


def _decode_base64(field: str, value: Any) -> bytes:
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a base64 string (Nova's personality contents)")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as error:
        raise InvalidInput(field, f"must be valid base64 ({error})") from None


def files_as_list(value: Any) -> Any:
    """Injected files given as a mapping of path to text, as Nova's list of {path, contents (base64)}."""
    if not isinstance(value, dict):
        return value
    return [
        {
            "path": path,
            "contents": base64.b64encode(text.encode("utf-8")).decode("ascii") if isinstance(text, str) else text,
        }
        for path, text in value.items()
    ]


def decode_files(value: Any) -> list[tuple[str, bytes]]:
    """``files`` as [(path, contents)] in the given order; InvalidInput names the field and the rule."""
    if value is None:
        return []
    seen: set[str] = set()
    files: list[tuple[str, bytes]] = []
    if isinstance(value, dict):
        for path, text in value.items():
            field = f"files.{path}"
            _check_path("files", path, seen)
            if not isinstance(text, str):
                raise InvalidInput(field, "must be the file's text (the mapping form takes text, not base64)")
            files.append((path, _check_size(field, text.encode("utf-8"))))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            field = f"files[{index}]"
            if not isinstance(item, dict) or set(item) != {"path", "contents"}:
                raise InvalidInput(field, "must be a mapping with exactly path and contents (base64)")
            path = _check_path(f"{field}.path", item["path"], seen)
            files.append(
                (path, _check_size(f"{field}.contents", _decode_base64(f"{field}.contents", item["contents"])))
            )
    else:
        raise InvalidInput("files", "must be a list of {path, contents (base64)} or a mapping of path to text")
    if len(files) > MAX_INJECTED_FILES:
        raise InvalidInput("files", f"must hold at most {MAX_INJECTED_FILES} files (injected_files), got {len(files)}")
    return files


def drive_format(request: dict[str, Any], image: dict[str, Any]) -> str:
    """The request's format, else the image's property, else config-2."""
    value = request.get(REQUEST_KEY)
    field = REQUEST_KEY
    if value is None:
        value = (image.get("properties") or {}).get(IMAGE_PROPERTY)
        field = f"images.{image.get('name')}.properties.{IMAGE_PROPERTY}"
    if value is None:
        return DEFAULT_FORMAT
    if value not in FORMATS:
        raise InvalidInput(field, f"must be one of {', '.join(FORMATS)}, got {value!r}")
    return value


def check_files_fit_format(files: list[Any], fmt: str) -> None:
    if files and fmt != CONFIG_2:
        raise InvalidInput(
            "files", f"injected files need config_drive_format {CONFIG_2}; a {fmt} seed has no place for them"
        )


def normalise_request(request: dict[str, Any], image: dict[str, Any]) -> dict[str, Any]:
    """The request's config drive keys, checked: {config_drive_format, files: [{path, contents (base64), size}]}."""
    fmt = drive_format(request, image)
    files = decode_files(request.get("files"))
    check_files_fit_format(files, fmt)
    return {
        REQUEST_KEY: fmt,
        "files": [
            {"path": path, "contents": base64.b64encode(contents).decode("ascii"), "size": len(contents)}
            for path, contents in files
        ],
    }


def record_fields(request: dict[str, Any]) -> dict[str, Any]:
    """What the instance record keeps of a normalised request's drive: the format, each file's path and size only."""
    return {
        REQUEST_KEY: request.get(REQUEST_KEY) or DEFAULT_FORMAT,
        "injected_files": [{"path": item["path"], "size": item["size"]} for item in request.get("files") or []],
    }
