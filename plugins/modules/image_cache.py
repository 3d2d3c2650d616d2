#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: image_cache
short_description: Remove cached images no instance uses, as Nova's image cache manager does
description:
  - M(nimbus.compute.block_device_map) keeps every image it fetched in C(<instances_path>/_base), named by its
    sha256, so the next instance of the same image starts from the copy on the host.
  - This module removes the cached images that no instance disk on the host is backed by and that nobody fetched or
    touched for O(remove_unused_original_minimum_age_seconds), like Nova's periodic image cache manager pass.
  - Each removal holds the image's lock and looks again under it, so a build fetching or using that image at the same
    moment keeps it.
  - It also removes the temp files (C(_base/.fetch-*)) of fetches whose process died mid-download, for example a
    build killed with C(kill -9). A fetch holds its image's lock until its file is verified and renamed, so a temp
    file whose lock nobody holds is abandoned, whatever its age.
  - Runs on the compute host; the store is not involved.
version_added: 0.2.0
author: nimbus.compute developers (@nimbus-compute)
attributes:
  check_mode:
    support: full
    description: Lists the images that would be removed; removes nothing.
  diff_mode:
    support: none
    description: The change is the list RV(removed).
  idempotent:
    support: full
    description: A second run finds nothing more to remove.
options:
  instances_path:
    description: Where the compute host keeps instances; the cache is its C(_base) folder.
    type: path
    default: /var/lib/nimbus/instances
  remove_unused_original_minimum_age_seconds:
    description:
      - How long, in seconds, an unused cached image stays (Nova's option of the same name). V(0) removes every unused
        image at once.
    type: int
    default: 86400
"""

EXAMPLES = r"""
- name: Remove images no instance has used for a day
  nimbus.compute.image_cache:
    instances_path: /var/lib/nimbus/instances

- name: Remove every unused cached image now
  nimbus.compute.image_cache:
    remove_unused_original_minimum_age_seconds: 0
"""

RETURN = r"""
removed:
  description:
    - Paths of the cached images and abandoned fetch temp files removed (or, in check mode, that would be removed).
  returned: always
  type: list
  elements: str
  sample: [/var/lib/nimbus/instances/_base/2ddef011c0a5f1f0e5b0d6f9a1e4c7b3d2a9e8f7c6b5a4d3e2f1a0b9c8d7e6f5]
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, host_disks
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module


def main() -> None:
    run_module(argspecs.IMAGE_CACHE, host_disks.image_cache)


if __name__ == "__main__":
    main()
