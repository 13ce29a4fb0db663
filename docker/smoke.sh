#!/usr/bin/env bash
# Build the glitter image for one platform from the committed tree and smoke-test it.
#
# Usage: docker/smoke.sh PLATFORM [BASE_IMAGE]
#   PLATFORM    linux/amd64, linux/arm64, linux/arm/v7 or linux/arm/v6
#   BASE_IMAGE  image for the Dockerfile's BASE argument. Defaults to the stand-in that
#               docker/make-base.sh makes: glitter-base:trixie-slim-amd64, -arm64 or -armhf,
#               and glitter-base:bookworm-slim-armel for linux/arm/v6.
#
# The build context is `git archive` of REF (HEAD by default), unpacked into a temporary
# folder, so uncommitted and untracked files in the work tree never reach the image. Commit
# what you want tested.
#
# It prints one line per check, then "N passed, N failed". The checks:
#   - build time and image size
#   - glitter --version. Under emulation, a failure of the image's entrypoint because qemu-user
#     rejects tini's TINI_SUBREAPER is a failed check of its own, and the other checks then
#     start tini without that variable.
#   - 3 frames and a dark frame on the emulated board
#   - the i2c-bus addon loads, and the default command without /dev/i2c-1 fails with the
#     ENOENT advice
#   - the user is not root
#   - docker stop, without and with --init, exits 0 within STOP_LIMIT_MS and leaves an
#     all-zero frame last
#   - for linux/arm/v6 under emulation: every container and every RUN step of the build runs
#     with QEMU_CPU=arm1176 (the Pi Zero's and Pi 1's CPU), and two controls check that qemu
#     emulates that CPU
#
# Exit status: 0 when every check passed, 1 when one failed, 2 on a usage error, and 77
# when Docker, the base image or emulation for PLATFORM is missing and cannot be set up.
#
# Environment (defaults in brackets):
#   DOCKER           docker client [/usr/bin/docker if present, else docker]
#   REF              git revision to build [HEAD]
#   DOCKERFILE       a Dockerfile to build instead of REF's, to test a proposed change [unset]
#   IMAGE_TAG        tag of the built image [glitter:smoke-DEBIAN_ARCH]
#   CA_BUNDLE        CA bundle passed to npm as the build secret "ca", when the file exists
#                    [/etc/ssl/certs/ca-certificates.crt]
#   NO_CACHE         1 builds without the layer cache, for a cold build time [0]
#   MAKE_BASE        0 never calls docker/make-base.sh [1]
#   BUILD_TIMEOUT    seconds for the image build [900 native, 7200 emulated]
#   RUN_TIMEOUT      seconds per container before the script kills it [60 native, 600 emulated]
#   STOP_LIMIT_MS    maximum milliseconds from docker stop to the container's exit [1000]
#   CONTROL_IMAGE    armhf image for the arm/v6 control [glitter-base:trixie-slim-armhf]
#   SMOKE_LOG_DIR    folder for the build logs, one per run [${TMPDIR:-/tmp}/glitter-smoke]
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)

# Debian's docker.io client (20.10) builds with the engine's built-in BuildKit. Newer clients
# hand DOCKER_BUILDKIT=1 builds to the buildx plugin and fail when it is missing.
if [[ -z ${DOCKER:-} ]]; then
  if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi
REF=${REF:-HEAD}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
NO_CACHE=${NO_CACHE:-0}
MAKE_BASE=${MAKE_BASE:-1}
STOP_LIMIT_MS=${STOP_LIMIT_MS:-1000}
CONTROL_IMAGE=${CONTROL_IMAGE:-glitter-base:trixie-slim-armhf}
SMOKE_LOG_DIR=${SMOKE_LOG_DIR:-${TMPDIR:-/tmp}/glitter-smoke}
MAKE_BASE_TIMEOUT=${MAKE_BASE_TIMEOUT:-3600}
# docker stop waits this long for the container to exit before it sends SIGKILL. It is longer
# than STOP_LIMIT_MS so that a slow exit is measured instead of cut off by the kill.
STOP_GRACE_SECONDS=10

# The emulated CPU for linux/arm/v6. qemu's default ARM CPU also runs ARMv7 and ARMv8 code,
# which a real Pi Zero or Pi 1 would trap.
ARMV6_CPU=arm1176

log() { printf '%s smoke: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

# Print why the test cannot run here and exit 77, the status test harnesses read as "skipped".
skip() {
  log "SKIP: $*"
  exit 77
}

debian_arch_for() {
  case $1 in
    linux/amd64) echo amd64 ;;
    linux/arm64) echo arm64 ;;
    linux/arm/v7) echo armhf ;;
    linux/arm/v6) echo armel ;;
    *) return 1 ;;
  esac
}

# The trixie armel stand-in cannot be made at present (the mirror returns 404 for armel
# packages updated in trixie point releases), so linux/arm/v6 defaults to bookworm's.
default_base_for() {
  case $1 in
    linux/arm/v6) echo glitter-base:bookworm-slim-armel ;;
    *) echo "glitter-base:trixie-slim-$(debian_arch_for "$1")" ;;
  esac
}

# Whether this host runs PLATFORM through qemu-user rather than on its own CPU. 64-bit ARM
# hosts are taken to run 32-bit ARM code natively, as the Pi 3, 4 and 5 do.
runs_emulated() {
  case "$(uname -m)|$1" in
    x86_64\|linux/amd64 | aarch64\|linux/arm* | armv7l\|linux/arm/v[67] | armv6l\|linux/arm/v6) return 1 ;;
    *) return 0 ;;
  esac
}

PASSED=0
FAILED=0
pass() {
  PASSED=$((PASSED + 1))
  printf 'PASS  %s\n' "$*"
}
fail() {
  FAILED=$((FAILED + 1))
  printf 'FAIL  %s\n' "$*"
}
info() { printf 'INFO  %s\n' "$*"; }

summary_and_exit() {
  printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
  if ((FAILED > 0)); then exit 1; fi
  exit 0
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --- Preconditions -------------------------------------------------------------------------

engine_responds() {
  command -v "$DOCKER" >/dev/null 2>&1 && timeout 30 "$DOCKER" info >/dev/null 2>&1
}

# Run make-base.sh for BASE if the name is one it makes (glitter-base:SUITE-slim-ARCH for this
# platform's architecture). make-base.sh also installs docker.io and starts dockerd if needed.
try_make_base() {
  local reason=$1 suite
  if [[ ! $BASE =~ ^glitter-base:([a-z]+)-slim-${ARCH}$ ]]; then
    skip "$reason, and docker/make-base.sh does not make $BASE"
  fi
  suite=${BASH_REMATCH[1]}
  ((MAKE_BASE)) || skip "$reason (MAKE_BASE=0, so docker/make-base.sh was not called)"
  ((EUID == 0)) || skip "$reason; run as root so that docker/make-base.sh can set it up"

  log "$reason: running SUITE=$suite docker/make-base.sh $PLATFORM (limit ${MAKE_BASE_TIMEOUT}s)"
  local status=0
  SUITE=$suite DOCKER=$DOCKER timeout --kill-after=30 "$MAKE_BASE_TIMEOUT" \
    "$SCRIPT_DIR/make-base.sh" "$PLATFORM" || status=$?
  ((status == 0)) || skip "$reason, and docker/make-base.sh $PLATFORM failed (exit $status, see above)"
}

check_preconditions() {
  engine_responds || try_make_base "no Docker engine responds to $DOCKER"
  engine_responds || skip "no Docker engine responds to $DOCKER"
  if ! "$DOCKER" image inspect "$BASE" >/dev/null 2>&1; then
    try_make_base "base image $BASE not found"
    "$DOCKER" image inspect "$BASE" >/dev/null 2>&1 || skip "base image $BASE not found"
  fi

  # A foreign platform runs only if binfmt_misc hands its binaries to qemu-user-static.
  local output
  if ! output=$("$DOCKER" run --rm --init --platform "$PLATFORM" "${CPU_ENV[@]}" "$BASE" \
    timeout 60 true 2>&1); then
    skip "the base image $BASE does not run here ($output). For an ARM platform on another host, install qemu-user-static and binfmt-support and run update-binfmts --enable qemu-arm (or qemu-aarch64) as root."
  fi

  git -C "$REPO" rev-parse --verify --quiet "$REF^{commit}" >/dev/null ||
    skip "$REPO has no commit $REF to build"
}

# --- Build ---------------------------------------------------------------------------------

# Unpack the committed tree. For linux/arm/v6 the build's RUN steps must run on the emulated
# ARMv6 CPU too, which needs `ARG QEMU_CPU` in every stage, because an ARG becomes an
# environment variable of the stage's RUN steps and qemu-user reads QEMU_CPU from there. If
# the committed Dockerfile lacks it, the copy gets it after each FROM line.
prepare_context() {
  git -C "$REPO" archive --format=tar "$REF" | tar -x -C "$CONTEXT"
  if [[ -n ${DOCKERFILE:-} ]]; then
    cp "$DOCKERFILE" "$CONTEXT/Dockerfile"
    info "build: using $DOCKERFILE in place of the Dockerfile of $REF"
  fi
  [[ -f $CONTEXT/Dockerfile ]] || {
    fail "build: $REF has no Dockerfile"
    summary_and_exit
  }
  if [[ -n $EMULATED_CPU ]] && ! grep -q '^ARG QEMU_CPU' "$CONTEXT/Dockerfile"; then
    sed -i '/^FROM /a ARG QEMU_CPU' "$CONTEXT/Dockerfile"
    info "build: added ARG QEMU_CPU after each FROM in the build's copy of the Dockerfile, so its RUN steps run on $EMULATED_CPU"
  fi
}

build_image() {
  local -a args=(build --progress plain --platform "$PLATFORM" --build-arg "BASE=$BASE" -t "$IMAGE_TAG")
  [[ -n $EMULATED_CPU ]] && args+=(--build-arg "QEMU_CPU=$EMULATED_CPU")
  [[ -s $CA_BUNDLE ]] && args+=(--secret "id=ca,src=$CA_BUNDLE")
  ((NO_CACHE)) && args+=(--no-cache)

  log "building $IMAGE_TAG for $PLATFORM on $BASE from $REF (limit ${BUILD_TIMEOUT}s, log: $BUILD_LOG)"
  local start status=0
  start=$SECONDS
  DOCKER_BUILDKIT=1 timeout --kill-after=30 "$BUILD_TIMEOUT" \
    "$DOCKER" "${args[@]}" "$CONTEXT" >"$BUILD_LOG" 2>&1 || status=$?
  BUILD_SECONDS=$((SECONDS - start))

  if ((status != 0)); then
    tail -n 25 "$BUILD_LOG" | sed 's/^/      /'
    local why="exit $status"
    ((status == 124)) && why="timed out after ${BUILD_TIMEOUT}s"
    grep -q 'buildx component is missing' "$BUILD_LOG" &&
      why="$why; this client needs the buildx plugin, use Debian's /usr/bin/docker (DOCKER=...)"
    fail "build: $IMAGE_TAG failed after ${BUILD_SECONDS}s ($why, log: $BUILD_LOG); the other checks were not run"
    summary_and_exit
  fi
  local cache_note="layer cache allowed, NO_CACHE=1 for a cold build"
  ((NO_CACHE)) && cache_note="without layer cache"
  pass "build: ${BUILD_SECONDS}s ($cache_note)"

  local bytes
  bytes=$("$DOCKER" image inspect --format '{{.Size}}' "$IMAGE_TAG")
  pass "image size: $(((bytes + 500000) / 1000000)) MB ($bytes bytes)"
}

# --- Running containers --------------------------------------------------------------------

# Run a container detached and wait at most LIMIT seconds for it to exit. `timeout docker run`
# would stop only the client and leave the container running, so on time-out the script
# kills the container itself. Sets RUN_STATUS (the exit code, or "timeout") and writes the
# container's stdout and stderr to $OUT and $ERR.
run_bounded() {
  local limit=$1
  shift
  local name=glitter-smoke-$$-$((++CONTAINER_COUNT))
  : >"$OUT"
  : >"$ERR"
  if ! "$DOCKER" run -d --name "$name" --label "$LABEL" --platform "$PLATFORM" \
    "${CPU_ENV[@]}" "$@" >/dev/null 2>"$ERR"; then
    RUN_STATUS=125
    return 0
  fi
  if ! RUN_STATUS=$(timeout "$limit" "$DOCKER" wait "$name" 2>/dev/null); then
    "$DOCKER" kill "$name" >/dev/null 2>&1 || true
    RUN_STATUS=timeout
  fi
  "$DOCKER" logs "$name" >"$OUT" 2>"$ERR" || true
  "$DOCKER" rm -f "$name" >/dev/null 2>&1 || true
}

# The first line of a file, shortened for a check line.
first_line() { head -n 1 "$1" | cut -c 1-200; }

# shellcheck disable=SC2317 # called from the EXIT trap
remove_containers() {
  local -a ids
  mapfile -t ids < <("$DOCKER" ps -aq --filter "label=$LABEL" 2>/dev/null || true)
  ((${#ids[@]} == 0)) || "$DOCKER" rm -f "${ids[@]}" >/dev/null 2>&1 || true
}

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
  remove_containers
  if [[ -n ${WORK:-} && -d $WORK ]]; then rm -rf "$WORK"; fi
}

# --- Checks --------------------------------------------------------------------------------

ZERO_FRAME='"pwm":\[0(,0){17}\]'
ANY_FRAME='"pwm":\[[0-9]+(,[0-9]+){17}\]'

# Make the glitter checks start the image's entrypoint through `env -u TINI_SUBREAPER`, so
# that tini runs as PID 1 without asking to be a child subreaper. Without an --entrypoint
# override, docker run would also drop the image's CMD, so GLITTER_DEFAULT gets it appended.
start_tini_without_subreaper() {
  local -a entrypoint command
  mapfile -t entrypoint < <("$DOCKER" image inspect --format '{{range .Config.Entrypoint}}{{println .}}{{end}}' "$IMAGE_TAG" | sed '/^$/d')
  mapfile -t command < <("$DOCKER" image inspect --format '{{range .Config.Cmd}}{{println .}}{{end}}' "$IMAGE_TAG" | sed '/^$/d')
  GLITTER=(--entrypoint /usr/bin/env "$IMAGE_TAG" -u TINI_SUBREAPER "${entrypoint[@]}")
  GLITTER_DEFAULT=("${GLITTER[@]}" "${command[@]}")
}

check_version() {
  local expected node_version
  expected=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$CONTEXT/package.json" | head -n 1)
  run_bounded "$RUN_TIMEOUT" --entrypoint timeout "$IMAGE_TAG" "$RUN_TIMEOUT" node --version
  node_version=$(first_line "$OUT")

  run_bounded "$RUN_TIMEOUT" "${GLITTER[@]}" --version
  # qemu-user 7.2 (Debian bookworm) rejects prctl(PR_SET_CHILD_SUBREAPER) with EINVAL, and
  # tini then exits at once when TINI_SUBREAPER is set. A Pi's own kernel accepts the call,
  # so this is a failure of the image under emulation only, and the other checks go on
  # without the subreaper to test glitter itself.
  if [[ $RUN_STATUS != 0 ]] && runs_emulated "$PLATFORM" && grep -q PR_SET_CHILD_SUBREAPER "$ERR"; then
    fail "entrypoint under qemu: tini exits $RUN_STATUS with '$(first_line "$ERR")', because the image sets TINI_SUBREAPER and qemu-user rejects prctl(PR_SET_CHILD_SUBREAPER); the other checks start tini without TINI_SUBREAPER"
    start_tini_without_subreaper
    run_bounded "$RUN_TIMEOUT" "${GLITTER[@]}" --version
  fi
  if [[ $RUN_STATUS == 0 && $(first_line "$OUT") == "$expected" ]]; then
    pass "version: glitter --version printed $expected (Node ${node_version:-unknown})"
  else
    fail "version: expected $expected and exit 0, got '$(first_line "$OUT")' with exit $RUN_STATUS (Node ${node_version:-unknown}); stderr: $(first_line "$ERR")"
  fi
}

check_emulated_frames() {
  run_bounded "$RUN_TIMEOUT" -e GLITTER_EMULATE=1 "${GLITTER[@]}" \
    cpu --view json --frames 3 --interval 0.2
  local frames lit last
  frames=$(grep -cE "$ANY_FRAME" "$OUT" || true)
  lit=$(head -n 3 "$OUT" | grep -E "$ANY_FRAME" | grep -cv '"reading":null' || true)
  last=$(tail -n 1 "$OUT")
  if [[ $RUN_STATUS == 0 && $frames == 4 && $lit == 3 ]] &&
    grep -qE "$ZERO_FRAME" <<<"$last" && grep -q '"reading":null' <<<"$last"; then
    pass "emulated board: 3 frames, then an all-zero pwm frame, exit 0"
  else
    fail "emulated board: expected 3 frames with readings, then an all-zero frame, and exit 0; got $frames frames ($lit with readings), exit $RUN_STATUS, last line: ${last:0:200}; stderr: $(first_line "$ERR")"
  fi
}

check_addon() {
  run_bounded "$RUN_TIMEOUT" --entrypoint timeout "$IMAGE_TAG" "$RUN_TIMEOUT" \
    node -e "require('/opt/glitter/node_modules/i2c-bus')"
  if [[ $RUN_STATUS == 0 ]]; then
    pass "i2c-bus addon: require('/opt/glitter/node_modules/i2c-bus') loads"
  else
    fail "i2c-bus addon: require failed with exit $RUN_STATUS: $(first_line "$ERR")"
  fi
}

check_missing_device() {
  run_bounded "$RUN_TIMEOUT" "${GLITTER_DEFAULT[@]}"
  if grep -q 'could not be loaded' "$ERR"; then
    fail "no device: the i2c-bus addon could not be loaded (exit $RUN_STATUS): $(first_line "$ERR")"
  elif [[ $RUN_STATUS != 0 && $RUN_STATUS != timeout ]] && grep -q '"code":"ENOENT"' "$ERR" &&
    grep -qF -- '--device /dev/i2c-1' "$ERR"; then
    pass "no device: default command exits $RUN_STATUS with ENOENT and the --device /dev/i2c-1 advice"
  else
    fail "no device: expected a non-zero exit with ENOENT naming --device /dev/i2c-1, got exit $RUN_STATUS; stderr: $(first_line "$ERR")"
  fi
}

check_user() {
  local configured uid
  configured=$("$DOCKER" image inspect --format '{{.Config.User}}' "$IMAGE_TAG")
  run_bounded "$RUN_TIMEOUT" --entrypoint timeout "$IMAGE_TAG" "$RUN_TIMEOUT" id -u
  uid=$(first_line "$OUT")
  if [[ $RUN_STATUS == 0 && $uid =~ ^[0-9]+$ && $uid != 0 ]]; then
    pass "non-root: runs as uid $uid (USER ${configured:-unset})"
  else
    fail "non-root: expected a non-zero uid, got '$uid' with exit $RUN_STATUS (USER ${configured:-unset})"
  fi
}

# Start `cpu --view json` on the emulated board, wait for two frames, then time docker stop.
# The first argument names the variant in the check line, and the others go to docker run.
check_stop() {
  local variant=$1
  shift
  local name=glitter-smoke-$$-$((++CONTAINER_COUNT))
  if ! "$DOCKER" run -d --name "$name" --label "$LABEL" --platform "$PLATFORM" "${CPU_ENV[@]}" \
    "$@" -e GLITTER_EMULATE=1 "${GLITTER[@]}" cpu --view json --interval 0.2 >/dev/null 2>"$ERR"; then
    fail "stop ($variant): docker run failed: $(first_line "$ERR")"
    return 0
  fi

  local deadline=$((SECONDS + RUN_TIMEOUT)) frames=0 running=true
  while ((SECONDS < deadline)); do
    frames=$("$DOCKER" logs "$name" 2>/dev/null | grep -cE "$ANY_FRAME" || true)
    running=$("$DOCKER" inspect --format '{{.State.Running}}' "$name")
    [[ $frames -ge 2 || $running != true ]] && break
    sleep 0.2
  done
  if ((frames < 2)); then
    "$DOCKER" logs "$name" >"$OUT" 2>"$ERR" || true
    "$DOCKER" rm -f "$name" >/dev/null 2>&1 || true
    fail "stop ($variant): fewer than 2 frames before stopping (running: $running, limit ${RUN_TIMEOUT}s); stderr: $(first_line "$ERR")"
    return 0
  fi

  local start elapsed stop_status=0 exit_code last
  start=$(now_ms)
  timeout $((STOP_GRACE_SECONDS + 30)) "$DOCKER" stop -t "$STOP_GRACE_SECONDS" "$name" \
    >/dev/null 2>&1 || stop_status=$?
  elapsed=$(($(now_ms) - start))
  exit_code=$("$DOCKER" inspect --format '{{.State.ExitCode}}' "$name" 2>/dev/null || echo unknown)
  "$DOCKER" logs "$name" >"$OUT" 2>"$ERR" || true
  "$DOCKER" rm -f "$name" >/dev/null 2>&1 || true
  last=$(tail -n 1 "$OUT")

  local problems=()
  ((stop_status == 0)) || problems+=("docker stop failed with $stop_status")
  [[ $exit_code == 0 ]] || problems+=("exit code $exit_code")
  ((elapsed <= STOP_LIMIT_MS)) || problems+=("took more than ${STOP_LIMIT_MS} ms")
  grep -qE "$ZERO_FRAME" <<<"$last" || problems+=("last line is not an all-zero frame: ${last:0:200}")
  if ((${#problems[@]} == 0)); then
    pass "stop ($variant): exit 0 in $elapsed ms after docker stop, last frame all zero"
  else
    local joined
    printf -v joined '%s; ' "${problems[@]}"
    fail "stop ($variant): $elapsed ms after docker stop, ${joined%; }"
  fi
}

# Controls for linux/arm/v6: qemu must report an ARMv6 CPU inside the image, and armhf code
# (built for ARMv7) must die under the same QEMU_CPU. If QEMU_CPU did not reach qemu, the
# first would print armv7l and the second would run.
check_armv6_cpu() {
  run_bounded "$RUN_TIMEOUT" --entrypoint timeout "$IMAGE_TAG" "$RUN_TIMEOUT" uname -m
  if [[ $RUN_STATUS == 0 && $(first_line "$OUT") == armv6l ]]; then
    pass "QEMU_CPU=$EMULATED_CPU: uname -m in the image prints armv6l"
  else
    fail "QEMU_CPU=$EMULATED_CPU: expected uname -m to print armv6l, got '$(first_line "$OUT")' with exit $RUN_STATUS"
  fi

  if ! "$DOCKER" image inspect "$CONTROL_IMAGE" >/dev/null 2>&1; then
    fail "control: armhf image $CONTROL_IMAGE not found (docker/make-base.sh linux/arm/v7 makes it, CONTROL_IMAGE=... picks another)"
    return 0
  fi
  # The armhf `timeout` would die under the ARMv6 CPU as well, so the client is bounded here
  # and the label lets the clean-up remove a container that outlives it.
  local baseline=0 status=0
  timeout 120 "$DOCKER" run --rm --init --label "$LABEL" --platform linux/arm/v7 \
    "$CONTROL_IMAGE" true >/dev/null 2>&1 || baseline=$?
  timeout 120 "$DOCKER" run --rm --init --label "$LABEL" --platform linux/arm/v7 \
    "${CPU_ENV[@]}" "$CONTROL_IMAGE" true >/dev/null 2>&1 || status=$?
  # docker-init (from --init) runs natively and reports a child killed by signal N as 128+N.
  if [[ $baseline == 0 ]] && ((status > 128 && status < 160)); then
    pass "control: armhf $CONTROL_IMAGE runs true on qemu's default CPU and dies under QEMU_CPU=$EMULATED_CPU (exit $status)"
  else
    fail "control: expected armhf true to exit 0 on the default CPU and to die by a signal under QEMU_CPU=$EMULATED_CPU, got $baseline and $status"
  fi
}

main() {
  case ${1:-} in
    -h | --help) usage 0 ;;
    '') usage ;;
  esac
  (($# <= 2)) || usage
  PLATFORM=$1
  ARCH=$(debian_arch_for "$PLATFORM") || {
    log "unsupported platform: $PLATFORM (use linux/amd64, linux/arm64, linux/arm/v7 or linux/arm/v6)"
    exit 2
  }
  BASE=${2:-$(default_base_for "$PLATFORM")}
  IMAGE_TAG=${IMAGE_TAG:-glitter:smoke-$ARCH}

  # QEMU_CPU matters only where qemu-user runs the image, and on real ARM hardware the
  # controls in check_armv6_cpu would not hold.
  EMULATED_CPU=""
  CPU_ENV=()
  if runs_emulated "$PLATFORM" && [[ $PLATFORM == linux/arm/v6 ]]; then
    EMULATED_CPU=$ARMV6_CPU
    CPU_ENV=(-e "QEMU_CPU=$ARMV6_CPU")
  fi
  if runs_emulated "$PLATFORM"; then
    BUILD_TIMEOUT=${BUILD_TIMEOUT:-7200}
    RUN_TIMEOUT=${RUN_TIMEOUT:-600}
  else
    BUILD_TIMEOUT=${BUILD_TIMEOUT:-900}
    RUN_TIMEOUT=${RUN_TIMEOUT:-60}
  fi

  check_preconditions

  WORK=$(mktemp -d "${TMPDIR:-/tmp}/glitter-smoke.XXXXXX")
  CONTEXT=$WORK/context
  OUT=$WORK/stdout
  ERR=$WORK/stderr
  mkdir -p "$CONTEXT" "$SMOKE_LOG_DIR"
  BUILD_LOG=$SMOKE_LOG_DIR/$ARCH-build-$(date +%Y%m%d-%H%M%S).log
  LABEL=glitter-smoke=$$
  CONTAINER_COUNT=0
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  info "platform $PLATFORM, base $BASE, commit $(git -C "$REPO" rev-parse --short "$REF"), client $DOCKER${EMULATED_CPU:+, QEMU_CPU=$EMULATED_CPU}"
  prepare_context
  build_image

  # How the glitter checks start the image: as it is, unless check_version finds that its
  # entrypoint cannot run under emulation.
  GLITTER=("$IMAGE_TAG")
  GLITTER_DEFAULT=("$IMAGE_TAG")

  log "running the checks (each container is killed after ${RUN_TIMEOUT}s)"
  check_version
  check_emulated_frames
  check_addon
  check_missing_device
  check_user
  check_stop "tini as PID 1"
  check_stop "docker run --init" --init
  [[ -n $EMULATED_CPU ]] && check_armv6_cpu
  summary_and_exit
}

main "$@"
