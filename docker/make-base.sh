#!/usr/bin/env bash
# Build local stand-ins for debian:trixie-slim, one image per platform, from
# Debian's package mirror alone. This exists for machines that reach the
# Debian mirror but no image registry: the rootfs comes from debootstrap and
# is imported with a `FROM scratch` build so the image carries the right
# platform label (`docker import --platform` leaves the label wrong).
#
# Usage: docker/make-base.sh [--refresh] PLATFORM...
#   PLATFORM is linux/amd64, linux/arm64, linux/arm/v7 or linux/arm/v6.
#   --refresh  run debootstrap again even if a cached rootfs tarball exists.
#
# Result per platform: image ${IMAGE_REPO}:${SUITE}-slim-DEBIAN_ARCH, for
# example glitter-base:trixie-slim-armel for linux/arm/v6. The platform that
# matches the host is also tagged ${IMAGE_REPO}:${SUITE}-slim.
#
# Environment (defaults in brackets):
#   DOCKER               docker client [/usr/bin/docker if present, else docker]
#   IMAGE_REPO           image name [glitter-base]
#   SUITE                Debian suite [trixie]
#   MIRROR               Debian mirror [http://deb.debian.org/debian]
#   SECURITY_MIRROR      security mirror [http://deb.debian.org/debian-security]
#   GLITTER_CACHE_DIR    rootfs tarball cache
#                        [${XDG_CACHE_HOME:-$HOME/.cache}/glitter/docker-base]
#   DEBOOTSTRAP_TIMEOUT  seconds per debootstrap run [900 native, 3600 emulated]
#   BUILD_TIMEOUT        seconds per image import build [600]
#
# Needs root: it installs packages, may start dockerd, mounts binfmt_misc and
# runs debootstrap. If no Docker engine responds, the script starts one with
# `setsid -f dockerd`, logging to $GLITTER_CACHE_DIR/dockerd.log. That engine
# outlives the script, so stop it by its pid (`pidof dockerd`) when done.
set -euo pipefail

IMAGE_REPO=${IMAGE_REPO:-glitter-base}
SUITE=${SUITE:-trixie}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
CACHE_DIR=${GLITTER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/glitter/docker-base}
BUILD_TIMEOUT=${BUILD_TIMEOUT:-600}
APT_TIMEOUT=600
DOCKERD_WAIT=30

# Debian's docker.io client (20.10) builds with the engine's built-in BuildKit.
# Newer clients, such as a stand-alone one in /usr/local/bin, hand
# DOCKER_BUILDKIT=1 builds to the buildx plugin and fail when it is missing.
if [[ -z ${DOCKER:-} ]]; then
  if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi

log() { printf '%s make-base: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Fail with debootstrap's own last error line, which usually names the
# package or the step that broke (for example a .deb the mirror returns 404 for).
die_debootstrap() {
  local message=$1 log_file=$2 last_error
  last_error=$(grep -E '^E: ' "$log_file" | tail -n 1 || true)
  die "$message${last_error:+: $last_error} (full log: $log_file)"
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

# Map a Docker platform to the Debian architecture that runs on it. armel is
# Debian's ARMv5TE soft-float port and the one that fits the ARMv6 Pi Zero and
# Pi 1. armhf needs ARMv7.
debian_arch_for() {
  case $1 in
    linux/amd64) echo amd64 ;;
    linux/arm64 | linux/arm64/v8) echo arm64 ;;
    linux/arm/v7) echo armhf ;;
    linux/arm/v6) echo armel ;;
    *) return 1 ;;
  esac
}

# Name of the binfmt_misc entry (from qemu-user-static) that runs the
# architecture's binaries on this host. Both ARM 32-bit ports use qemu-arm.
binfmt_entry_for() {
  case $1 in
    arm64) echo qemu-aarch64 ;;
    armhf | armel) echo qemu-arm ;;
    *) return 1 ;;
  esac
}

install_missing_tools() {
  local -a missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v dockerd >/dev/null || missing+=(docker.io)
  [[ -x $DOCKER ]] || command -v "$DOCKER" >/dev/null || missing+=(docker.io)
  command -v update-binfmts >/dev/null || missing+=(binfmt-support)
  command -v qemu-arm-static >/dev/null || missing+=(qemu-user-static)
  ((${#missing[@]} == 0)) && return 0

  log "installing ${missing[*]}"
  # The lock timeout lets this wait for another apt run instead of failing.
  timeout "$APT_TIMEOUT" apt-get update -q >/dev/null ||
    die "apt-get update failed or timed out after ${APT_TIMEOUT}s"
  DEBIAN_FRONTEND=noninteractive timeout "$APT_TIMEOUT" \
    apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
    "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed or timed out after ${APT_TIMEOUT}s"
}

# Start dockerd if no engine responds. The lock keeps parallel runs of this
# script (one per platform) from starting two engines.
ensure_dockerd() {
  "$DOCKER" info >/dev/null 2>&1 && return 0

  exec {lock_fd}>"$CACHE_DIR/dockerd.lock"
  flock "$lock_fd"
  if ! "$DOCKER" info >/dev/null 2>&1; then
    log "no Docker engine responds, starting dockerd (log: $CACHE_DIR/dockerd.log)"
    # setsid detaches the engine so that Ctrl-C on this script leaves it up.
    setsid -f dockerd >>"$CACHE_DIR/dockerd.log" 2>&1 </dev/null
    local waited=0
    until "$DOCKER" info >/dev/null 2>&1; do
      ((waited++ < DOCKERD_WAIT * 4)) ||
        die "dockerd did not respond within ${DOCKERD_WAIT}s, see $CACHE_DIR/dockerd.log"
      sleep 0.25
    done
  fi
  exec {lock_fd}>&-
}

# Make the host run foreign binaries through qemu-user-static. The kernel only
# consults binfmt_misc entries once the filesystem is mounted and the entry is
# enabled, and a fresh container or VM often has neither.
ensure_binfmt() {
  local entry=$1 path=/proc/sys/fs/binfmt_misc
  if ! mountpoint -q "$path"; then
    mount -t binfmt_misc binfmt_misc "$path" || die "cannot mount binfmt_misc on $path"
  fi
  if [[ ! -e $path/$entry ]] || [[ $(head -n 1 "$path/$entry") != enabled ]]; then
    update-binfmts --enable "$entry" || die "update-binfmts --enable $entry failed"
  fi
  [[ $(head -n 1 "$path/$entry") == enabled ]] || die "binfmt entry $entry is not enabled"
}

# Unmount everything debootstrap left mounted below $1, deepest first, and
# report failure if anything stays mounted. Callers must not delete the tree
# otherwise, because a mounted /proc or /dev would be deleted with it.
unmount_below() {
  local root
  root=$(realpath "$1")
  local target
  findmnt -rn -o TARGET | awk -v r="$root/" 'index($0, r) == 1' | sort -r |
    while read -r target; do umount -l "$target" || true; done
  ! findmnt -rn -o TARGET | awk -v r="$root/" 'index($0, r) == 1 { found = 1 } END { exit !found }'
}

remove_work_dir() {
  local dir=$1
  [[ -d $dir ]] || return 0
  if unmount_below "$dir"; then
    rm -rf --one-file-system "$dir"
  else
    log "warning: mounts remain below $dir, leaving it in place"
  fi
}

# Make the debootstrapped tree look like Debian's slim container images: apt
# sources for the suite, its updates and security, and no docs, man pages or
# translations, plus settings that suit image builds.
configure_rootfs() {
  local root=${1:?rootfs path missing}

  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

  # Package scripts must not try to start services during an image build.
  printf '#!/bin/sh\n# No services start inside image builds.\nexit 101\n' \
    >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"

  # Keep downloaded .deb files and translated indexes out of image layers.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
# Delete downloaded packages after each install so they never land in a layer.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"

  # The slim variant: dpkg skips documentation and translations on install,
  # except the copyright files that the licenses require.
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root/usr/share/man/"* "$root/usr/share/info/"* "$root/usr/share/locale/"*

  # debootstrap copies the host's resolv.conf and hostname. Docker mounts its
  # own at run time, so the image should carry neither.
  : >"$root/etc/resolv.conf"
  echo localhost >"$root/etc/hostname"

  # Drop what debootstrap leaves behind: package indexes, caches, logs and
  # device nodes (the container runtime provides /dev).
  rm -rf "${root:?}/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin \
    "$root/var/cache/apt/archives/"*.deb "$root/var/log/"*.log \
    "$root/var/log/apt/"* "${root:?}/dev/"* "${root:?}/tmp/"* "$root/root/.bash_history"
  mkdir -p "$root/var/lib/apt/lists/partial"
}

# Create $CACHE_DIR/ARCH.tar unless a cached one exists.
build_rootfs() {
  local arch=$1
  local tarball=$CACHE_DIR/$SUITE-$arch.tar
  if [[ -s $tarball && $REFRESH == 0 ]]; then
    log "$arch: using cached rootfs $tarball"
    return 0
  fi

  local host_arch foreign=0 limit
  host_arch=$(dpkg --print-architecture)
  [[ $arch != "$host_arch" ]] && foreign=1
  if ((foreign)); then limit=${DEBOOTSTRAP_TIMEOUT:-3600}; else limit=${DEBOOTSTRAP_TIMEOUT:-900}; fi

  local work
  work=$(mktemp -d "$CACHE_DIR/work-$arch.XXXXXX")
  # shellcheck disable=SC2064 # expand $work now, the trap runs after it is gone
  trap "remove_work_dir '$work'" EXIT
  local root=$work/rootfs start=$SECONDS
  # The log lives outside the work dir so that it survives a failed run.
  local debootstrap_log=$CACHE_DIR/debootstrap-$SUITE-$arch.log
  : >"$debootstrap_log"

  if ((foreign)); then
    local entry interpreter_copy=""
    entry=$(binfmt_entry_for "$arch") || die "$arch: no qemu binfmt entry is known for this architecture"
    ensure_binfmt "$entry"

    log "$arch: debootstrap first stage (limit ${limit}s in all)"
    timeout --kill-after=30 "$limit" debootstrap --foreign --arch="$arch" \
      --variant=minbase "$SUITE" "$root" "$MIRROR" >"$debootstrap_log" 2>&1 ||
      die_debootstrap "$arch: debootstrap first stage failed" "$debootstrap_log"

    # Without the F flag the kernel opens the interpreter inside the chroot,
    # so it has to be copied there for the second stage.
    local binfmt=/proc/sys/fs/binfmt_misc/$entry interpreter
    interpreter=$(awk '$1 == "interpreter" { print $2 }' "$binfmt")
    if ! grep -q '^flags:.*F' "$binfmt"; then
      interpreter_copy=$root$interpreter
      mkdir -p "$(dirname "$interpreter_copy")"
      cp "$(realpath "$interpreter")" "$interpreter_copy"
    fi

    local remaining=$((limit - (SECONDS - start)))
    ((remaining > 0)) || die "$arch: no time left for the second stage"
    log "$arch: debootstrap second stage under qemu (limit ${remaining}s)"
    timeout --kill-after=30 "$remaining" chroot "$root" /debootstrap/debootstrap \
      --second-stage >>"$debootstrap_log" 2>&1 ||
      die_debootstrap "$arch: debootstrap second stage failed" "$debootstrap_log"
    [[ -n $interpreter_copy ]] && rm -f "$interpreter_copy"
  else
    log "$arch: debootstrap (limit ${limit}s)"
    timeout --kill-after=30 "$limit" debootstrap --arch="$arch" --variant=minbase \
      "$SUITE" "$root" "$MIRROR" >"$debootstrap_log" 2>&1 ||
      die_debootstrap "$arch: debootstrap failed" "$debootstrap_log"
  fi
  log "$arch: debootstrap took $((SECONDS - start))s"

  unmount_below "$root" || die "$arch: cannot unmount filesystems below $root"
  configure_rootfs "$root"

  # Write under a temporary name and rename, so an interrupted run never
  # leaves a truncated tarball that a later run would trust.
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$root" -cf "$tarball.part" .
  mv -f "$tarball.part" "$tarball"
  log "$arch: wrote $tarball ($(du -h "$tarball" | cut -f1))"

  remove_work_dir "$work"
  trap - EXIT
}

# Import the cached rootfs as an image. Building `FROM scratch` with
# --platform is what sets Os, Architecture and Variant in the image config.
import_image() {
  local platform=$1 arch=$2 tag=$3
  local context
  context=$(mktemp -d "$CACHE_DIR/context-$arch.XXXXXX")
  # A hard link avoids copying the tarball, and cp covers other filesystems.
  ln "$CACHE_DIR/$SUITE-$arch.tar" "$context/rootfs.tar" 2>/dev/null ||
    cp "$CACHE_DIR/$SUITE-$arch.tar" "$context/rootfs.tar"
  cat >"$context/Dockerfile" <<EOF
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.opencontainers.image.description="Local stand-in for debian:$SUITE-slim ($arch), built by docker/make-base.sh"
CMD ["bash"]
EOF

  log "$arch: importing as $tag for $platform"
  local status=0
  DOCKER_BUILDKIT=1 timeout --kill-after=30 "$BUILD_TIMEOUT" \
    "$DOCKER" build --quiet --platform "$platform" -t "$tag" "$context" >/dev/null || status=$?
  rm -rf "$context"
  ((status == 0)) || die "$arch: docker build of $tag failed or timed out (exit $status)"
}

# Compare the image's platform label with the requested platform. BuildKit
# may record arm64 with or without the v8 variant, so both are accepted.
check_platform_label() {
  local platform=$1 tag=$2 label
  label=$("$DOCKER" image inspect --format '{{.Os}}/{{.Architecture}}/{{.Variant}}' "$tag")
  case "$platform|$label" in
    linux/amd64\|linux/amd64/ | linux/arm64*\|linux/arm64/ | linux/arm64*\|linux/arm64/v8 | \
      linux/arm/v7\|linux/arm/v7 | linux/arm/v6\|linux/arm/v6) ;;
    *) die "$tag has platform label $label, expected $platform" ;;
  esac
  log "$tag: platform label $label"
}

main() {
  REFRESH=0
  local -a platforms=()
  while (($#)); do
    case $1 in
      --refresh) REFRESH=1 ;;
      -h | --help) usage 0 ;;
      -*) log "unknown option: $1"; usage ;;
      *) platforms+=("$1") ;;
    esac
    shift
  done
  ((${#platforms[@]})) || usage
  ((EUID == 0)) || die "run as root: debootstrap, mount and dockerd need it"

  local platform
  for platform in "${platforms[@]}"; do
    debian_arch_for "$platform" >/dev/null ||
      die "unsupported platform: $platform (use linux/amd64, linux/arm64, linux/arm/v7 or linux/arm/v6)"
  done

  mkdir -p "$CACHE_DIR"
  install_missing_tools
  ensure_dockerd

  local host_arch arch tag lock_fd start
  host_arch=$(dpkg --print-architecture)
  for platform in "${platforms[@]}"; do
    arch=$(debian_arch_for "$platform")
    tag=$IMAGE_REPO:$SUITE-slim-$arch
    start=$SECONDS

    # One run per architecture at a time, so parallel runs cannot write the
    # same tarball twice.
    exec {lock_fd}>"$CACHE_DIR/$SUITE-$arch.lock"
    flock "$lock_fd"
    build_rootfs "$arch"
    import_image "$platform" "$arch" "$tag"
    exec {lock_fd}>&-

    check_platform_label "$platform" "$tag"
    if [[ $arch == "$host_arch" ]]; then
      "$DOCKER" tag "$tag" "$IMAGE_REPO:$SUITE-slim"
      log "$tag: also tagged $IMAGE_REPO:$SUITE-slim (host platform)"
    fi
    log "$platform: done in $((SECONDS - start))s"
  done
}

main "$@"
