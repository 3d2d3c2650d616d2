# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The compute host's image cache (Nova's ``_base`` directory and imagecache/imagebackend fetch).

Images are cached under their sha256: a file appears under that name only
after its content was verified (temp file, verify, rename), so a cached file
is valid by construction and is never read again to check it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
from collections.abc import Iterator
from typing import IO, Any

from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import ImageError, InvalidInput, VirtError

CHUNK_SIZE = 1024 * 1024
DOWNLOAD_TIMEOUT = 60
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
LOCK_DIR = "locks"
# A fetch in progress: .fetch-<lock key>-<random>, renamed to its sha256 once verified.
FETCH_PREFIX = ".fetch-"
ABANDONED_FETCH_RE = re.compile(r"^\.fetch-([0-9a-f]{64})-")


class ImageUnavailable(VirtError):
    """The image source cannot be read from this host (network, missing file): another host may do better."""


def is_url(source: str) -> bool:
    return urllib.parse.urlsplit(source).scheme in ("http", "https")


def check_sha256(sha256: str) -> str:
    """The digest in lower case; it becomes a file name, so anything else is refused."""
    digest = sha256.lower()
    if not SHA256_RE.match(digest):
        raise InvalidInput("image.sha256", "must be 64 hexadecimal digits", value=sha256)
    return digest


def _copy_hashing(reader: IO[bytes], writer: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: reader.read(CHUNK_SIZE), b""):
        digest.update(chunk)
        writer.write(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _open_source(source: str) -> Iterator[IO[bytes]]:
    try:
        if is_url(source):
            # open_url: Ansible's proxy, CA bundle and TLS handling.
            with open_url(source, timeout=DOWNLOAD_TIMEOUT) as response:
                yield response
        else:
            with open(source, "rb") as handle:
                yield handle
    except urllib.error.HTTPError as exc:
        # The server answered: every host would get the same answer.
        raise ImageError(f"cannot fetch image {source}: HTTP {exc.code} {exc.reason}", source=source) from exc
    except (OSError, urllib.error.URLError, UrlConnectionError) as exc:
        raise ImageUnavailable(f"cannot read image {source}: {exc}", source=source) from exc


def source_sha256(source: str) -> str:
    digest = hashlib.sha256()
    with _open_source(source) as reader:
        for chunk in iter(lambda: reader.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _lock_path(base_dir: str, key: str) -> str:
    # One lock file per image, kept (like Nova's external locks): removing it
    # would let a late comer lock a new file while a waiter holds the old one.
    lock_dir = os.path.join(base_dir, LOCK_DIR)
    os.makedirs(lock_dir, mode=0o755, exist_ok=True)
    return os.path.join(lock_dir, f"{key}.lock")


@contextlib.contextmanager
def _locked(base_dir: str, key: str) -> Iterator[None]:
    with open(_lock_path(base_dir, key), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def _locked_if_free(base_dir: str, key: str) -> Iterator[bool]:
    """The image's lock if nobody holds it now (True), without waiting (False)."""
    with open(_lock_path(base_dir, key), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fetch_to_temp(source: str, base_dir: str, key: str) -> tuple[str, str]:
    """Copy ``source`` into a temp file in ``base_dir``: (temp path, sha256 of what arrived).

    The caller holds the lock ``key``; the temp file's name carries it, so a
    fetch whose process was killed can be told from one still running.
    """
    fd, temp_path = tempfile.mkstemp(dir=base_dir, prefix=f"{FETCH_PREFIX}{key}-")
    try:
        with os.fdopen(fd, "wb") as temp, _open_source(source) as reader:
            actual = _copy_hashing(reader, temp)
            temp.flush()
            os.fsync(temp.fileno())
    except BaseException:
        os.unlink(temp_path)
        raise
    return temp_path, actual


def _store(temp_path: str, cached: str) -> None:
    os.chmod(temp_path, 0o644)
    os.replace(temp_path, cached)


def fetch_image(source: str, sha256: str | None, base_dir: str) -> str:
    """Path of the verified image in ``base_dir`` (named by its sha256), fetching it at most once."""
    if not source:
        raise InvalidInput("image.source", "must be a local path or an http(s) URL")
    if urllib.parse.urlsplit(source).scheme not in ("", "http", "https"):
        raise InvalidInput("image.source", "must be a local path or an http(s) URL", value=source)
    os.makedirs(base_dir, mode=0o755, exist_ok=True)
    if sha256 is None and not is_url(source):
        sha256 = source_sha256(source)
    if sha256 is not None:
        expected = check_sha256(sha256)
        cached = os.path.join(base_dir, expected)
        with _locked(base_dir, expected):
            if not os.path.exists(cached):
                temp_path, actual = _fetch_to_temp(source, base_dir, expected)
                if actual != expected:
                    os.unlink(temp_path)
                    raise ImageError(
                        f"image {source}: sha256 is {actual}, expected {expected}",
                        source=source,
                        expected=expected,
                        actual=actual,
                    )
                _store(temp_path, cached)
            else:
                # A hit counts as use: the cache manager keeps images used lately.
                os.utime(cached)
        return cached
    # A URL without a checksum: its name is known only after the download.
    key = hashlib.sha256(source.encode()).hexdigest()
    with _locked(base_dir, key):
        temp_path, actual = _fetch_to_temp(source, base_dir, key)
        cached = os.path.join(base_dir, actual)
        if os.path.exists(cached):
            os.unlink(temp_path)
        else:
            _store(temp_path, cached)
    return cached


def qemu_img_info_command(path: str) -> list[str]:
    # --force-share: a running guest holds the write lock on its disk.
    return ["qemu-img", "info", "--output=json", "--force-share", path]


def parse_image_info(output: str) -> dict[str, Any]:
    info = json.loads(output)
    return {
        "format": info["format"],
        "virtual_size": int(info["virtual-size"]),
        "backing_file": info.get("backing-filename"),
    }


def run_qemu_img(command: list[str]) -> str:
    """stdout of a qemu-img command; ImageError with its stderr when it fails."""
    if shutil.which(command[0]) is None:
        raise VirtError(f"{command[0]} is not installed on this host")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ImageError(f"{' '.join(command[:2])} failed: {result.stderr.strip()}", command=command)
    return result.stdout


def image_info(path: str) -> dict[str, Any]:
    """{format, virtual_size (bytes), backing_file (or None)} of a disk image, from ``qemu-img info``."""
    return parse_image_info(run_qemu_img(qemu_img_info_command(path)))


# Nova's remove_unused_original_minimum_age_seconds default.
DEFAULT_MINIMUM_AGE = 86400


def bases_in_use(instances_path: str) -> set[str]:
    """Cached images some instance's root disk is backed by (Nova's imagecache scan of instance disks)."""
    in_use = set()
    for entry in os.scandir(instances_path):
        disk = os.path.join(entry.path, "disk")
        if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("_") and os.path.exists(disk):
            backing = image_info(disk).get("backing_file")
            if backing:
                in_use.add(os.path.abspath(backing))
    return in_use


def unused_bases(base_dir: str, in_use: set[str], minimum_age: float, now: float) -> list[str]:
    """Cached images (named by sha256) that no instance uses and nobody touched for ``minimum_age`` seconds."""
    if minimum_age < 0:
        raise InvalidInput("minimum_age", "must not be negative", value=minimum_age)
    found = []
    for entry in sorted(os.scandir(base_dir), key=lambda item: item.name):
        if not SHA256_RE.match(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        if entry.path not in in_use and now - entry.stat().st_mtime >= minimum_age:
            found.append(entry.path)
    return found


def remove_abandoned_fetches(base_dir: str, check_mode: bool = False) -> list[str]:
    """Temp files of fetches whose process died (killed mid-download): nobody holds their image's lock."""
    removed = []
    for entry in sorted(os.scandir(base_dir), key=lambda item: item.name):
        match = ABANDONED_FETCH_RE.match(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        with _locked_if_free(base_dir, match.group(1)) as free:
            # A running fetch holds the lock until its file is renamed.
            if not free or not os.path.exists(entry.path):
                continue
            if not check_mode:
                os.unlink(entry.path)
            removed.append(entry.path)
    return removed


def clean_unused_bases(
    instances_path: str, minimum_age: float = DEFAULT_MINIMUM_AGE, check_mode: bool = False, now: float | None = None
) -> dict[str, Any]:
    """Remove cached images no instance uses after ``minimum_age`` seconds, and abandoned fetches: {changed, removed}.

    Each removal holds that image's lock, so a build fetching it right now is
    never left with a half-removed base or a removed temp file.
    """
    base_dir = os.path.join(os.path.abspath(instances_path), "_base")
    if not os.path.isdir(base_dir):
        return {"changed": False, "removed": []}
    candidates = unused_bases(base_dir, bases_in_use(instances_path), minimum_age, time.time() if now is None else now)
    removed = []
    for path in candidates:
        with _locked(base_dir, os.path.basename(path)):
            # Looked at again under the lock: a build may have started using it.
            if path in bases_in_use(instances_path) or not os.path.exists(path):
                continue
            if not check_mode:
                os.unlink(path)
            removed.append(path)
    removed += remove_abandoned_fetches(base_dir, check_mode)
    return {"changed": bool(removed), "removed": removed}
