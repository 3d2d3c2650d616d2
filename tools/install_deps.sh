#!/usr/bin/env bash
# Install what nimbus.compute needs on a Debian 12 machine, as root:
# the system packages listed in bindep.txt, then the virtualenv .venv from
# requirements-test.txt.  Fast when everything is already there: apt is only
# asked when a package is missing, pip only when a requirements file changed.
#
# Usage: tools/install_deps.sh
# Environment: PYTHON (interpreter for the venv; default python3.11, else python3)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
stamps="$repo/build/stamps"
mkdir -p "$stamps"

log() { printf 'install_deps: %s\n' "$*"; }

# --- system packages ---------------------------------------------------------
# Entries for this platform from bindep.txt: no profile, or platform:dpkg.
bindep_packages() {
  sed -e 's/#.*//' bindep.txt | awk 'NF && ($0 !~ /\[/ || $0 ~ /platform:(dpkg|debian)/) {print $1}'
}

missing_packages() {
  local pkg status
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = installed ] || printf '%s\n' "$pkg"
  done
}

apt_lists_present() {
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

mapfile -t wanted < <(bindep_packages)
mapfile -t missing < <(missing_packages "${wanted[@]}")
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing packages (run as root to install): ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists at most once a day, or when there are none.
  if ! apt_lists_present || [ -z "$(find "$stamps/apt-update" -mmin -1440 2>/dev/null)" ]; then
    log "apt-get update"
    apt-get update -q
    touch "$stamps/apt-update"
  fi
  # Package scripts must not start services: without systemd, invoke-rc.d
  # would run openssh-server's init script and leave an sshd listening on
  # port 22 of the machine's own network.  policy-rc.d exiting 101 forbids
  # that; ours is temporary and only stands in when there is none.
  policy_rc_d=/usr/sbin/policy-rc.d
  if [ ! -e "$policy_rc_d" ]; then
    printf '#!/bin/sh\n# Temporary, from nimbus.compute tools/install_deps.sh.\nexit 101\n' >"$policy_rc_d"
    chmod 0755 "$policy_rc_d"
    trap 'rm -f "$policy_rc_d"' EXIT
  fi
  # The postgresql package's postinst creates a system cluster "main" (to be
  # started where services may start) unless create_main_cluster is false; the
  # tests start throw-away clusters of their own (tests/pg_cluster.py).  The
  # postinst reads it from createcluster.conf, which postgresql-common writes
  # with ucf (not a dpkg conffile), and that file includes createcluster.d/*.conf,
  # which no package owns: a file of ours there, made before the install, counts.
  no_main_cluster=/etc/postgresql-common/createcluster.d/nimbus-no-main-cluster.conf
  if [ ! -e "$no_main_cluster" ]; then
    mkdir -p "${no_main_cluster%/*}"
    printf '# From nimbus.compute tools/install_deps.sh: the tests make their own clusters.\ncreate_main_cluster = false\n' >"$no_main_cluster"
  fi
  log "apt-get install ${missing[*]}"
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ "$(trap -p EXIT)" ]; then
    rm -f "$policy_rc_d"
    trap - EXIT
  fi
  # Should an sshd have been started anyway (a policy-rc.d that allowed it),
  # stop that one, by the pid file the package's init script writes.
  if printf '%s\n' "${missing[@]}" | grep -qx openssh-server; then
    sshd_pid=$(cat /run/sshd.pid 2>/dev/null || true)
    if [ -n "$sshd_pid" ] && [ "$(cat "/proc/$sshd_pid/comm" 2>/dev/null)" = sshd ]; then
      log "stopping the sshd the openssh-server package started (pid $sshd_pid)"
      kill "$sshd_pid"
    fi
  fi
else
  log "system packages: all ${#wanted[@]} installed"
fi

# --- cloud-init's own code, for the tests ------------------------------------
# Unit tests read our config drives and NoCloud seeds with cloud-init's own
# readers (the reader that counts in a guest).  Debian's package, the one the
# cloud image carries, is unpacked here, not installed: no services appear.
cloud_init_dir="$repo/build/cloud-init"
if [ -d "$cloud_init_dir/usr/lib/python3/dist-packages/cloudinit" ]; then
  log "cloud-init for the tests: $(cat "$cloud_init_dir/VERSION" 2>/dev/null || echo unpacked)"
else
  download=$(mktemp -d)
  if ! (cd "$download" && apt-get download -q cloud-init >/dev/null 2>&1); then
    log "apt-get update (to download cloud-init)"
    apt-get update -q
    (cd "$download" && apt-get download -q cloud-init)
  fi
  rm -rf "$cloud_init_dir"
  dpkg-deb -x "$download"/cloud-init_*.deb "$cloud_init_dir"
  dpkg-deb -f "$download"/cloud-init_*.deb Version >"$cloud_init_dir/VERSION"
  rm -rf "$download"
  log "cloud-init for the tests: unpacked $(cat "$cloud_init_dir/VERSION") into build/cloud-init"
fi

# --- virtualenv --------------------------------------------------------------
venv_stamp="$stamps/venv"
venv_fresh() {
  [ -x .venv/bin/python ] && [ -f "$venv_stamp" ] || return 1
  local req
  for req in requirements.txt requirements-test.txt; do
    [ "$venv_stamp" -nt "$req" ] || return 1
  done
}

if venv_fresh; then
  log "virtualenv .venv: up to date"
else
  if [ ! -x .venv/bin/python ]; then
    python=${PYTHON:-}
    if [ -z "$python" ]; then
      if command -v python3.11 >/dev/null && python3.11 -c '' 2>/dev/null; then
        python=python3.11
      else
        python=python3
      fi
    fi
    log "creating .venv with $python ($("$python" -V 2>&1))"
    "$python" -m venv .venv
  fi
  log "pip install -r requirements-test.txt"
  .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements-test.txt
  touch "$venv_stamp"
fi

# --- collections (requirements.yml) ----------------------------------------
# Galaxy cannot be reached from here: the pinned collections come out of PyPI's
# `ansible` package of the version that carries them (pip's cache keeps the
# wheel), and ansible-galaxy installs them from there, checking each version.
ANSIBLE_PACKAGE=ansible==12.3.0
collections_stamp="$stamps/collections"
if [ -f "$collections_stamp" ] && [ "$collections_stamp" -nt requirements.yml ] && [ "$collections_stamp" -nt "$venv_stamp" ]; then
  log "collections (requirements.yml): up to date"
else
  wheels=$(mktemp -d)
  log "collections: taking requirements.yml's sources from $ANSIBLE_PACKAGE"
  .venv/bin/python -m pip download --disable-pip-version-check -q --no-deps -d "$wheels" "$ANSIBLE_PACKAGE"
  rm -rf build/collection-sources
  .venv/bin/python - "$wheels"/ansible-*.whl build/collection-sources requirements.yml <<'PY'
import sys, zipfile, yaml
wheel, target, requirements = sys.argv[1:]
wanted = [entry["name"].split("collection-sources/", 1)[1] + "/" for entry in yaml.safe_load(open(requirements))["collections"]]
with zipfile.ZipFile(wheel) as archive:
    archive.extractall(target, [name for name in archive.namelist() if name.startswith(tuple(wanted))])
PY
  rm -rf "$wheels"
  .venv/bin/ansible-galaxy collection install --force -r requirements.yml -p build/collections
  touch "$collections_stamp"
fi
