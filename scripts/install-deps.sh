#!/bin/bash
# Install what xenshare needs to build and test on Debian 12 (run as root).
# Idempotent: packages already present are left alone.
set -euo pipefail

PKGS=(build-essential pkg-config libfuse3-dev fuse3 libxen-dev libseccomp-dev
      libxxhash-dev
      clang libclang-rt-14-dev valgrind attr acl rsync git fio
      e2fsprogs xfsprogs btrfs-progs util-linux procps psmisc python3
      glusterfs-server glusterfs-client)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
modprobe fuse 2>/dev/null || true
[ -e /dev/fuse ] || echo "warning: /dev/fuse is missing; mounts will not work" >&2
