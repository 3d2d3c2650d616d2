from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import threading
import time

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import ImageError, InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.virt import imagecache

CONTENT = b"not really an image\n" * 1000
SHA256 = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "src" / "image.img"
    path.parent.mkdir()
    path.write_bytes(CONTENT)
    return str(path)


@pytest.fixture
def base_dir(tmp_path):
    return str(tmp_path / "instances" / "_base")


def image_files(base_dir):
    return sorted(name for name in os.listdir(base_dir) if name != imagecache.LOCK_DIR)


@pytest.fixture
def http_server(source, http_files):
    """(base URL, request log) of a loopback server offering CONTENT as /image.img."""
    return http_files(os.path.dirname(source))


def test_fetch_local_copies_under_sha256(source, base_dir):
    cached = imagecache.fetch_image(source, SHA256, base_dir)
    assert cached == os.path.join(base_dir, SHA256)
    with open(cached, "rb") as handle:
        assert handle.read() == CONTENT
    assert image_files(base_dir) == [SHA256]


def test_fetch_accepts_upper_case_sha256(source, base_dir):
    assert imagecache.fetch_image(source, SHA256.upper(), base_dir) == os.path.join(base_dir, SHA256)


def test_cached_image_is_not_copied_again(source, base_dir):
    cached = imagecache.fetch_image(source, SHA256, base_dir)
    os.unlink(source)
    assert imagecache.fetch_image(source, SHA256, base_dir) == cached


def test_a_cache_hit_counts_as_use(source, base_dir):
    cached = imagecache.fetch_image(source, SHA256, base_dir)
    os.utime(cached, (1000, 1000))
    imagecache.fetch_image(source, SHA256, base_dir)
    assert os.stat(cached).st_mtime > time.time() - 60


def test_fetch_without_sha256_hashes_the_source(source, base_dir):
    assert imagecache.fetch_image(source, None, base_dir) == os.path.join(base_dir, SHA256)


def test_checksum_mismatch_names_both_and_leaves_nothing(source, base_dir):
    wrong = "0" * 64
    with pytest.raises(ImageError) as info:
        imagecache.fetch_image(source, wrong, base_dir)
    assert wrong in info.value.message
    assert SHA256 in info.value.message
    assert info.value.details["expected"] == wrong
    assert info.value.details["actual"] == SHA256
    assert image_files(base_dir) == []


def test_missing_source_is_unavailable(tmp_path, base_dir):
    with pytest.raises(imagecache.ImageUnavailable) as info:
        imagecache.fetch_image(str(tmp_path / "nope.img"), SHA256, base_dir)
    assert info.value.reschedulable
    assert image_files(base_dir) == []


@pytest.mark.parametrize(
    ("source", "sha256", "field"),
    [
        ("/img", "../../etc/passwd", "image.sha256"),
        ("/img", "abc", "image.sha256"),
        ("ftp://example.invalid/img", None, "image.source"),
        ("file:///img", None, "image.source"),
        ("", None, "image.source"),
    ],
)
def test_invalid_input(source, sha256, field, base_dir):
    with pytest.raises(InvalidInput) as info:
        imagecache.fetch_image(source, sha256, base_dir)
    assert info.value.field == field


def test_download_over_http(http_server, base_dir):
    url, requests = http_server
    cached = imagecache.fetch_image(f"{url}/image.img", SHA256, base_dir)
    assert cached == os.path.join(base_dir, SHA256)
    assert imagecache.fetch_image(f"{url}/image.img", SHA256, base_dir) == cached
    assert requests == ["/image.img"]


def test_download_without_sha256_names_it_by_content(http_server, base_dir):
    url = http_server[0]
    assert imagecache.fetch_image(f"{url}/image.img", None, base_dir) == os.path.join(base_dir, SHA256)
    assert image_files(base_dir) == [SHA256]


def test_http_error_is_an_image_error(http_server, base_dir):
    url = http_server[0]
    with pytest.raises(ImageError) as info:
        imagecache.fetch_image(f"{url}/missing.img", SHA256, base_dir)
    assert "404" in info.value.message
    assert image_files(base_dir) == []


def test_concurrent_fetches_download_once(http_server, base_dir):
    url, requests = http_server
    results: list[str] = []

    def fetch():
        results.append(imagecache.fetch_image(f"{url}/image.img", SHA256, base_dir))

    threads = [threading.Thread(target=fetch) for thread_number in range(3)]
    lock_path = os.path.join(base_dir, imagecache.LOCK_DIR, f"{SHA256}.lock")
    os.makedirs(os.path.dirname(lock_path))
    # Hold the image's lock while the three start, so that they queue on it.
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for thread in threads:
            thread.start()
        time.sleep(0.1)
        assert requests == []
        fcntl.flock(lock, fcntl.LOCK_UN)
    for thread in threads:
        thread.join()
    assert results == [os.path.join(base_dir, SHA256)] * 3
    assert requests == ["/image.img"]


def test_image_info_reads_qemu_img(make_qcow2):
    assert imagecache.image_info(make_qcow2(size="64M")) == {
        "format": "qcow2",
        "virtual_size": 64 * 1024 * 1024,
        "backing_file": None,
    }


def test_image_info_names_a_backing_file(tmp_path, make_qcow2):
    base = make_qcow2("base.qcow2")
    overlay = str(tmp_path / "overlay.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay], check=True)
    assert imagecache.image_info(overlay)["backing_file"] == base


def test_image_info_of_a_non_image_is_raw(source):
    info = imagecache.image_info(source)
    # qemu-img rounds a raw file up to whole 512-byte sectors.
    assert info["format"] == "raw"
    assert info["virtual_size"] == 20480


def test_image_info_of_a_missing_file_fails(tmp_path):
    with pytest.raises(ImageError):
        imagecache.image_info(str(tmp_path / "nope"))


def _age(path, seconds):
    then = os.path.getmtime(path) - seconds
    os.utime(path, (then, then))


def test_clean_unused_bases_keeps_used_and_young_ones(tmp_path, make_qcow2):
    instances = tmp_path / "instances"
    base_dir = instances / "_base"
    base_dir.mkdir(parents=True)
    images = {}
    for name, size in (("used", "1M"), ("old", "2M"), ("young", "3M")):
        path = make_qcow2(f"{name}.qcow2", size)
        digest = imagecache.source_sha256(path) if name != "young" else "f" * 64
        cached = base_dir / digest
        os.replace(path, cached)
        images[name] = str(cached)
    (base_dir / "not-a-digest").write_text("x")
    (instances / "0d8e6f7a-1b2c-4d5e-8f90-a1b2c3d4e5f6").mkdir()
    subprocess.run(
        [
            "qemu-img",
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            images["used"],
            "-F",
            "qcow2",
            str(instances / "0d8e6f7a-1b2c-4d5e-8f90-a1b2c3d4e5f6" / "disk"),
        ],
        check=True,
    )
    _age(images["used"], 7200)
    _age(images["old"], 7200)
    assert imagecache.clean_unused_bases(str(instances), minimum_age=3600, check_mode=True) == {
        "changed": True,
        "removed": [images["old"]],
    }
    assert os.path.exists(images["old"])
    assert imagecache.clean_unused_bases(str(instances), minimum_age=3600)["removed"] == [images["old"]]
    assert sorted(os.listdir(base_dir)) == sorted(
        [os.path.basename(images["used"]), os.path.basename(images["young"]), "not-a-digest", "locks"]
    )
    assert imagecache.clean_unused_bases(str(instances), minimum_age=3600) == {"changed": False, "removed": []}


def test_clean_refuses_a_negative_age(tmp_path):
    (tmp_path / "_base").mkdir()
    with pytest.raises(InvalidInput):
        imagecache.clean_unused_bases(str(tmp_path), minimum_age=-1)


def _start_fetch_from_fifo(tmp_path, name, base_dir):
    """A real process fetching from a named pipe: it holds the image lock and its temp file while the pipe is open."""
    fifo = tmp_path / name
    os.mkfifo(fifo)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child fetches until killed or the pipe closes
        try:
            imagecache.fetch_image(str(fifo), SHA256, base_dir)
        finally:
            os._exit(0)
    writer = open(fifo, "wb")  # noqa: SIM115 - kept open while the fetch runs
    writer.write(CONTENT[:1000])
    writer.flush()
    return pid, writer


def _fetch_temp_files(base_dir):
    return sorted(name for name in os.listdir(base_dir) if name.startswith(imagecache.FETCH_PREFIX))


def _wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_clean_removes_a_killed_fetch_and_keeps_a_running_one(tmp_path, base_dir):
    instances = os.path.dirname(base_dir)
    os.makedirs(base_dir)
    killed, killed_writer = _start_fetch_from_fifo(tmp_path, "killed", base_dir)
    _wait_for(lambda: len(_fetch_temp_files(base_dir)) == 1)
    os.kill(killed, 9)
    os.waitpid(killed, 0)
    killed_writer.close()
    [abandoned] = _fetch_temp_files(base_dir)
    assert abandoned.startswith(f".fetch-{SHA256}-")
    # A second fetch of the same image, still running, holds the lock: its temp file stays.
    running, running_writer = _start_fetch_from_fifo(tmp_path, "running", base_dir)
    _wait_for(lambda: len(_fetch_temp_files(base_dir)) == 2)
    try:
        predicted = imagecache.clean_unused_bases(instances, minimum_age=0, check_mode=True)
        assert predicted == {"changed": False, "removed": []}
        assert len(_fetch_temp_files(base_dir)) == 2
    finally:
        running_writer.write(CONTENT[1000:])
        running_writer.close()
        os.waitpid(running, 0)
    assert image_files(base_dir) == sorted([abandoned, SHA256])
    # The running fetch finished: the killed one's file is now free to go.
    path = os.path.join(base_dir, abandoned)
    assert imagecache.clean_unused_bases(instances, minimum_age=86400, check_mode=True) == {
        "changed": True,
        "removed": [path],
    }
    assert os.path.exists(path)
    assert imagecache.clean_unused_bases(instances, minimum_age=86400) == {"changed": True, "removed": [path]}
    assert image_files(base_dir) == [SHA256]
    assert imagecache.clean_unused_bases(instances, minimum_age=86400) == {"changed": False, "removed": []}
