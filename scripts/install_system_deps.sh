#!/bin/sh
# Install the Debian packages the optional back ends need: GPAW (libxc, OpenBLAS) and a
# one-node SLURM cluster (slurm-wlm, munge). Without root or apt-get, print why and go on:
# the tests that need these packages skip with the reason.
set -eu
PKGS="libxc-dev libopenblas-dev slurm-wlm munge"
missing=""
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: not root or no apt-get; skipping:$missing (GPAW and SLURM tests will skip)"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
echo "system-deps: installed$missing"
