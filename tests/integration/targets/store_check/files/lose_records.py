"""Edit a store the way a controller crash between two transactions can leave it.

Usage: lose_records.py STORE LOST_NAME HALF_DELETED_NAME
- LOST_NAME's instance record disappears, its claim, port and group membership stay;
- HALF_DELETED_NAME is marked deleted with its claim and membership released
  (release_claim's transaction), but its port stays (the network release never ran).
Holds the store's lock while it edits, as every writer does.
"""

import fcntl
import json
import os
import sys

path, lost_name, half_name = sys.argv[1:4]
with open(path + ".lock", "a+", encoding="utf-8") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    by_name = {inst["name"]: uuid for uuid, inst in data["instances"].items() if inst["vm_state"] != "deleted"}
    del data["instances"][by_name[lost_name]]
    half = by_name[half_name]
    data["instances"][half].update(vm_state="deleted", task_state=None)
    data["claims"].pop(half)
    for group in data["server_groups"].values():
        if half in group["members"]:
            group["members"].remove(half)
    tmp = path + ".edit"
    with open(tmp, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        json.dump(data, handle)
    os.replace(tmp, path)
print(json.dumps({"lost": by_name[lost_name], "half_deleted": half}))
