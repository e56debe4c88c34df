#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo use: docker-registry
# (a real OCI registry), apache2-utils (htpasswd for bcrypt users), openssl
# (TLS certs, independent signature checks), rsync and git (gitlab-ci-local),
# skopeo (a containers/image client that must read our .sig tags).
# Idempotent; a no-op when everything is already there.
set -euo pipefail
need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v openssl >/dev/null || need+=(openssl)
command -v rsync >/dev/null || need+=(rsync)
command -v skopeo >/dev/null || need+=(skopeo)
command -v git >/dev/null || need+=(git)
[ ${#need[@]} -eq 0 ] && { echo "system packages present"; exit 0; }
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "missing: ${need[*]}. Install them as root: apt-get update && apt-get install -y ${need[*]}" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing: ${need[*]}"
# apt-get-wait.sh waits (bounded) while another process holds the apt/dpkg lock.
wait_apt="$(dirname "$0")/apt-get-wait.sh"
$SUDO bash "$wait_apt" update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive bash "$wait_apt" install -y -qq --no-install-recommends "${need[@]}" >/dev/null
