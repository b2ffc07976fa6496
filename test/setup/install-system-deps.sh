#!/usr/bin/env bash
# Installs the Debian packages the test suite talks to as real peers: FreeRADIUS (NAS + accounting),
# radclient, OpenSSH's sshd, nginx (the cluster's load balancer), Samba as an Active Directory domain controller, and Chromium for the
# Playground end-to-end tests. Idempotent and quiet
# when everything is already there; needs root (CI and the dev machines run as root).
set -euo pipefail
need=()
command -v freeradius >/dev/null 2>&1 || need+=(freeradius)
command -v radclient >/dev/null 2>&1 || need+=(freeradius-utils)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
# Samba AD DC: without samba-vfs-modules the provision fails on acl_xattr.so; ldb-tools gives ldbmodify.
if ! command -v samba >/dev/null 2>&1 || ! command -v samba-tool >/dev/null 2>&1; then need+=(samba samba-dsdb-modules samba-vfs-modules samba-ad-provision); fi
command -v ldbmodify >/dev/null 2>&1 || need+=(ldb-tools)
[ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages for the tests: ${need[*]}"
  if [ "$(id -u)" != 0 ]; then echo "need root to apt-get install ${need[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian starts freeradius as a system service on install; the tests run their own private copies.
if command -v systemctl >/dev/null 2>&1; then systemctl stop freeradius >/dev/null 2>&1 || true; fi
# Only the system one (no private -d config dir) is stopped; our own test and sandbox NAS keep running.
pgrep -a -x freeradius | grep -v ' -d ' | awk '{print $1}' | xargs -r kill 2>/dev/null || true
# Likewise nginx: the cluster and its test run their own (-p/-c), never the system service.
if command -v systemctl >/dev/null 2>&1; then systemctl stop nginx >/dev/null 2>&1 || true; fi
exit 0
