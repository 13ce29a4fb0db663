#!/usr/bin/env bash
# Check that Debian's nodejs installs and runs on the local base images made
# by docker/make-base.sh. For each platform this builds a derived image
# ${IMAGE_REPO}:${SUITE}-node-DEBIAN_ARCH with nodejs from apt, then runs
# node in it. linux/arm/v6 runs under QEMU_CPU=arm1176, the Pi Zero's and
# Pi 1's CPU, both for the apt install and for the run, because qemu's default
# CPU accepts ARMv7 and ARMv8 instructions that the real board would trap.
#
# Usage: docker/check-base.sh PLATFORM...
#   PLATFORM is linux/amd64, linux/arm64, linux/arm/v7 or linux/arm/v6.
#
# Environment (defaults in brackets):
#   DOCKER          docker client [/usr/bin/docker if present, else docker]
#   IMAGE_REPO      image name [glitter-base]
#   SUITE           Debian suite [trixie]
#   BUILD_TIMEOUT   seconds for the nodejs install build [1800]
#   RUN_TIMEOUT     seconds for the node run, enforced inside the container [300]
#
# Exits non-zero if any platform fails, after logging which one and why.
set -euo pipefail

IMAGE_REPO=${IMAGE_REPO:-glitter-base}
SUITE=${SUITE:-trixie}
BUILD_TIMEOUT=${BUILD_TIMEOUT:-1800}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}

# Debian's docker.io client builds with the engine's built-in BuildKit. Newer
# clients without the buildx plugin reject DOCKER_BUILDKIT=1.
if [[ -z ${DOCKER:-} ]]; then
  if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi

log() { printf '%s check-base: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

debian_arch_for() {
  case $1 in
    linux/amd64) echo amd64 ;;
    linux/arm64 | linux/arm64/v8) echo arm64 ;;
    linux/arm/v7) echo armhf ;;
    linux/arm/v6) echo armel ;;
    *) return 1 ;;
  esac
}

emulated_cpu_for() {
  case $1 in
    linux/arm/v6) echo arm1176 ;;
    *) echo "" ;;
  esac
}

# The script node runs: it prints the build's target settings and exercises
# the JIT, crypto (OpenSSL) and Intl (ICU), which are the parts most likely to
# use instructions that an older CPU lacks.
read -r -d '' NODE_PROBE <<'EOF' || true
const { createHash } = require('node:crypto');
const variables = process.config.variables;
let sum = 0;
for (let i = 0; i < 5e6; i++) sum = (sum + i * 31) % 1000003;
const digest = createHash('sha256').update(String(sum)).digest('hex').slice(0, 16);
const formatted = new Intl.NumberFormat('de-DE').format(1234567.891);
console.log(JSON.stringify({
  version: process.version, arch: process.arch,
  arm_version: variables.arm_version, arm_float_abi: variables.arm_float_abi,
  sum, digest, formatted,
}));
EOF

# Build the derived image. The install runs under the emulated CPU too, so
# that package scripts which run node or other binaries are tested on it.
build_node_image() {
  local platform=$1 base=$2 tag=$3 cpu=$4
  DOCKER_BUILDKIT=1 timeout --kill-after=30 "$BUILD_TIMEOUT" \
    "$DOCKER" build --quiet --platform "$platform" \
    --build-arg "BASE=$base" --build-arg "EMULATED_CPU=$cpu" -t "$tag" - >/dev/null <<'EOF'
ARG BASE
FROM ${BASE}
ARG EMULATED_CPU
RUN if [ -n "$EMULATED_CPU" ]; then export QEMU_CPU="$EMULATED_CPU"; fi \
 && apt-get update \
 && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/*
EOF
}

check_platform() {
  local platform=$1 arch cpu base tag start
  arch=$(debian_arch_for "$platform") || {
    log "unsupported platform: $platform (use linux/amd64, linux/arm64, linux/arm/v7 or linux/arm/v6)"
    return 1
  }
  cpu=$(emulated_cpu_for "$platform")
  base=$IMAGE_REPO:$SUITE-slim-$arch
  tag=$IMAGE_REPO:$SUITE-node-$arch

  if ! "$DOCKER" image inspect "$base" >/dev/null 2>&1; then
    log "$platform: base image $base not found, run docker/make-base.sh $platform first"
    return 1
  fi

  start=$SECONDS
  log "$platform: installing nodejs on $base${cpu:+ (QEMU_CPU=$cpu)}"
  if ! build_node_image "$platform" "$base" "$tag" "$cpu"; then
    log "$platform: FAILED: nodejs install build failed or timed out after ${BUILD_TIMEOUT}s"
    return 1
  fi
  log "$platform: built $tag in $((SECONDS - start))s"

  # `timeout docker run` would only stop the client, so the time limit is
  # enforced by timeout(1) inside the container. --init matters under qemu:
  # without it the emulated process is PID 1, and when it crashes, qemu-user
  # 7.2 (Debian bookworm) re-raises the signal on itself, which the kernel ignores for
  # a namespace's init, so the container hangs instead of exiting.
  local -a env_args=()
  [[ -n $cpu ]] && env_args=(-e "QEMU_CPU=$cpu")
  start=$SECONDS
  local output status=0
  output=$("$DOCKER" run --rm --init --platform "$platform" "${env_args[@]}" "$tag" \
    timeout "$RUN_TIMEOUT" node -e "$NODE_PROBE" 2>&1) || status=$?
  if ((status != 0)); then
    # 132 (SIGILL) or 139 (SIGSEGV) usually means the emulated CPU lacks an
    # instruction. qemu-user 7.2 reports armhf code on arm1176 as SIGSEGV.
    log "$platform: FAILED: node exited with status $status${cpu:+ on QEMU_CPU=$cpu}: $output"
    return 1
  fi
  log "$platform: node ran in $((SECONDS - start))s${cpu:+ on QEMU_CPU=$cpu}: $output"
}

main() {
  (($#)) || { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
  "$DOCKER" info >/dev/null 2>&1 || { log "no Docker engine responds, run docker/make-base.sh first to start one"; exit 1; }

  local platform failed=0
  for platform in "$@"; do
    check_platform "$platform" || failed=1
  done
  return "$failed"
}

main "$@"
