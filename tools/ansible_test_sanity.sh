#!/usr/bin/env bash
# Run `ansible-test sanity` on a copy of the collection, offline.
#
# ansible-test wants the collection under .../ansible_collections/nimbus/compute/
# and refuses paths reached through a symlink, so the files git knows about
# (tracked, plus untracked ones that are not ignored) are copied to
# build/sanity/ansible_collections/nimbus/compute/ first; the copy gets its own
# empty git repository so ansible-test sees exactly those files.  Its pip bootstrap
# download is replaced by tools/get_pip_standin.py (see PLATFORM.md).
#
# Usage: tools/ansible_test_sanity.sh [extra ansible-test sanity arguments]
# Environment: PYTHON_VERSION (default 3.11), SANITY_MODE (--venv or --local).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

venv_bin="$repo/.venv/bin"
python_version=${PYTHON_VERSION:-3.11}
mode=${SANITY_MODE:---venv}
dest="$repo/build/sanity/ansible_collections/nimbus/compute"

# The pip version ansible-test bootstraps, read from its own source so an
# ansible-core upgrade does not silently go back to downloading.
ansible_test_dir=$("$venv_bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',*$/\1/p" "$ansible_test_dir/_internal/python_requirements.py" | head -n 1)
if [ -z "$pip_version" ]; then
  echo "ansible_test_sanity: cannot find the pip version in $ansible_test_dir/_internal/python_requirements.py" >&2
  exit 1
fi
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
if ! cmp -s tools/get_pip_standin.py "$cache"; then
  install -m 0644 tools/get_pip_standin.py "$cache"
fi

mkdir -p "$dest" "$repo/build/sanity"
# What git would ship: tracked and untracked-but-not-ignored files that exist.
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done \
  > "$repo/build/sanity/wanted.lst0"
rsync -a --from0 --files-from="$repo/build/sanity/wanted.lst0" ./ "$dest/"
# --files-from never deletes: prune files that left the tree since the last
# copy, keeping ansible-test's own tests/output/.
tr '\0' '\n' < "$repo/build/sanity/wanted.lst0" | sort > "$repo/build/sanity/wanted.lst"
(cd "$dest" && find . \( -path ./tests/output -o -path ./.git \) -prune -o \( -type f -o -type l \) -print | sed 's|^\./||' | sort) \
  | comm -23 - "$repo/build/sanity/wanted.lst" \
  | while IFS= read -r stale; do rm -f -- "$dest/$stale"; done
find "$dest" -mindepth 1 -depth -type d -empty -not -path "$dest/tests/output*" -not -path "$dest/.git*" -delete
# ansible-test lists content with git when it finds a .git walking up from the
# collection, and build/ is ignored by the repo's git: give the copy its own
# (empty) repository so every copied file is an untracked, listed file.
[ -d "$dest/.git" ] || git -C "$dest" init -q

cd "$dest"
export PATH="$venv_bin:$PATH"
start=$SECONDS
set +e
ansible-test sanity "$mode" --python "$python_version" --color no "$@"
rc=$?
set -e
echo "ansible-test sanity: exit $rc after $((SECONDS - start)) s"
exit "$rc"
