from __future__ import annotations

import base64

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.objects import config_drive

IMAGE = {"name": "tiny", "properties": {}}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (None, []),
        ({}, []),
        ([], []),
        ({"/etc/motd": "hi\n"}, [("/etc/motd", b"hi\n")]),
        ([{"path": "/bin/x", "contents": b64(b"\x00\xff")}], [("/bin/x", b"\x00\xff")]),
        ({f"/f{i}": "" for i in range(5)}, [(f"/f{i}", b"") for i in range(5)]),
        ({"/big": "x" * 10240}, [("/big", b"x" * 10240)]),
        ({"/" + "p" * 254: "x"}, [("/" + "p" * 254, b"x")]),
    ],
)
def test_decode_files_accepts(files, expected):
    assert config_drive.decode_files(files) == expected


@pytest.mark.parametrize(
    ("files", "field", "rule"),
    [
        ("text", "files", "must be a list"),
        ({f"/f{i}": "" for i in range(6)}, "files", "at most 5 files (injected_files)"),
        ({"/big": "x" * 10241}, "files./big", "at most 10240 bytes (injected_file_content_bytes)"),
        ({"/big": "é" * 5121}, "files./big", "injected_file_content_bytes"),
        ([{"path": "/big", "contents": b64(b"x" * 10241)}], "files[0].contents", "injected_file_content_bytes"),
        ({"/" + "p" * 255: "x"}, "files", "at most 255 bytes (injected_file_path_bytes)"),
        ({"etc/motd": "x"}, "files", "absolute"),
        ({"/etc/": "x"}, "files", "absolute"),
        ({"/etc/../shadow": "x"}, "files", "'..'"),
        ({"/etc/motd": b"x"}, "files./etc/motd", "text"),
        ([{"path": "/a", "contents": "not base64!"}], "files[0].contents", "base64"),
        ([{"path": "/a", "contents": 12}], "files[0].contents", "base64"),
        ([{"path": "/a"}], "files[0]", "exactly path and contents"),
        ([{"path": "/a", "contents": "", "mode": "0600"}], "files[0]", "exactly path and contents"),
        (["/a"], "files[0]", "exactly path and contents"),
        ([{"path": "/a", "contents": ""}, {"path": "/a", "contents": ""}], "files[1].path", "given twice"),
    ],
)
def test_decode_files_names_field_and_rule(files, field, rule):
    with pytest.raises(InvalidInput) as error:
        config_drive.decode_files(files)
    assert error.value.field == field
    assert rule in str(error.value)


@pytest.mark.parametrize(
    ("request_format", "image_format", "expected"),
    [
        (None, None, "config-2"),
        ("nocloud", None, "nocloud"),
        (None, "nocloud", "nocloud"),
        ("config-2", "nocloud", "config-2"),
        ("nocloud", "config-2", "nocloud"),
    ],
)
def test_drive_format_request_then_image_then_default(request_format, image_format, expected):
    request = {} if request_format is None else {"config_drive_format": request_format}
    properties = {} if image_format is None else {"img_config_drive_format": image_format}
    assert config_drive.drive_format(request, {"name": "tiny", "properties": properties}) == expected


@pytest.mark.parametrize(
    ("request_keys", "properties", "field"),
    [
        ({"config_drive_format": "iso9660"}, {}, "config_drive_format"),
        ({}, {"img_config_drive_format": "vfat"}, "images.tiny.properties.img_config_drive_format"),
    ],
)
def test_bad_format_names_the_field(request_keys, properties, field):
    with pytest.raises(InvalidInput) as error:
        config_drive.drive_format(request_keys, {"name": "tiny", "properties": properties})
    assert error.value.field == field


def test_nocloud_refuses_injected_files():
    with pytest.raises(InvalidInput) as error:
        config_drive.normalise_request({"config_drive_format": "nocloud", "files": {"/a": "x"}}, IMAGE)
    assert error.value.field == "files"


def test_record_keeps_paths_and_sizes_only():
    normalised = config_drive.normalise_request({"files": {"/etc/motd": "s3cret-motd"}}, IMAGE)
    assert normalised["files"] == [{"path": "/etc/motd", "contents": b64(b"s3cret-motd"), "size": 11}]
    record = config_drive.record_fields(normalised)
    assert record == {"config_drive_format": "config-2", "injected_files": [{"path": "/etc/motd", "size": 11}]}
    assert "s3cret" not in repr(record)
    assert b64(b"s3cret-motd") not in repr(record)
