#!/usr/bin/env bash
# CI entry for the container image: set up Docker and the amd64 base image with
# docker/make-base.sh, then build and smoke-test the linux/amd64 image with docker/smoke.sh.
# The ARM platforms are left out because each takes minutes to build under emulation
# (docs/container.md lists measured times). Run docker/smoke.sh for them by hand.
#
# Usage: docker/ci.sh
#
# Exit status: smoke.sh's (0 passed, 1 a check failed), or 77 with a SKIP line when Docker
# cannot run here: not an x86-64 host, not root, or make-base.sh could not install or start
# the engine or make the base image.
#
# Environment (defaults in brackets):
#   MAKE_BASE_TIMEOUT  seconds for make-base.sh, including apt and debootstrap [1800]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MAKE_BASE_TIMEOUT=${MAKE_BASE_TIMEOUT:-1800}

skip() {
  echo "docker/ci.sh: SKIP: $*" >&2
  exit 77
}

[[ $(uname -m) == x86_64 ]] ||
  skip "the CI leg tests linux/amd64 natively, and this host is $(uname -m)"
((EUID == 0)) ||
  skip "make-base.sh needs root to install docker.io and debootstrap and to start dockerd"

# make-base.sh installs what is missing, starts dockerd when no engine responds and reuses
# its cached rootfs tarball, so a second run takes a few seconds.
status=0
timeout --kill-after=30 "$MAKE_BASE_TIMEOUT" docker/make-base.sh linux/amd64 || status=$?
if ((status != 0)); then
  skip "docker/make-base.sh linux/amd64 failed with exit $status (its error is above), so Docker or the base image cannot be set up here"
fi

# make-base.sh has just made the base, so smoke.sh must not try again.
MAKE_BASE=0 exec docker/smoke.sh linux/amd64
