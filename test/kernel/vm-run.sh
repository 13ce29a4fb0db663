#!/usr/bin/env bash
# Run a shell script as root inside a QEMU virtual machine that boots Debian's
# x86-64 kernel with i2c-dev and "i2c-stub chip_addr=0x54" loaded, so the
# script gets a real /dev/i2c-0 with a fake SN3218 (PiGlow) at address 0x54.
#
# Usage: test/kernel/vm-run.sh SCRIPT [ARG...]
#        test/kernel/vm-run.sh - [ARG...]     (reads the script from stdin)
#
# Inside the VM the script runs as root with:
#   - the host's root folder as "/" (read-only over 9p, under a tmpfs
#     overlay), so the host's node, i2c-tools and this project are there.
#     The script may write anywhere, and every write is gone after the run.
#   - cwd = the project folder (the one that contains test/kernel/)
#   - env: I2C_BUS=0, GLITTER_VM=1, HOME=/root, LANG=C.UTF-8, the caller's
#     PATH behind /run/glitter/bin, and the variables named in GLITTER_VM_ENV
#   - /dev/i2c-0 as root:root mode 0600 (there is no udev to set a group)
#   - helpers on PATH: glitter-stub-load [ADDRESS...], glitter-stub-unload,
#     glitter-run-as UID[:GID[:GROUP,...]] COMMAND..., and busybox's modprobe,
#     insmod, rmmod and lsmod (for example "rmmod i2c_dev" removes every
#     /dev/i2c-N)
#   - stdin from /dev/null
# An executable script runs directly, another one through its #! line, or
# through /bin/sh when it has none. Busybox sh may run its own i2cset applet
# for "i2cset", so call the real i2c-tools by full path (/usr/sbin/i2cset,
# /usr/sbin/i2cget, /usr/sbin/i2cdump).
#
# The script's stdout and stderr arrive on this command's stdout and stderr.
# Exit status:
#   the script's own exit status, when it finished
#   77   skipped because this host cannot run the VM, with one
#        "vm-run: SKIP: ..." line that gives the reason (not x86-64, QEMU
#        missing and not installable, no network for the first kernel
#        download, ...)
#   124  the script ran longer than GLITTER_VM_TIMEOUT and was stopped
#   125  the VM failed (no boot, setup error, crash), and the kernel
#        console's last lines follow on stderr
#   2    invalid usage
# A script can also exit with 77, 124 or 125 itself; only the vm-run: lines
# on stderr tell those cases apart.
#
# Settings (environment variables):
#   GLITTER_VM_TIMEOUT       seconds the script may run (default 300)
#   GLITTER_VM_BOOT_TIMEOUT  seconds from QEMU start to the script's start
#                            (default 120)
#   GLITTER_VM_MEMORY        guest memory in MiB (default 1024)
#   GLITTER_VM_ENV           space-separated names of variables to copy into
#                            the guest, for example "NODE_OPTIONS CI"
#   GLITTER_VM_NO_INSTALL=1  skip instead of running apt-get install
#   GLITTER_VM_VERBOSE=1     print boot and run times on stderr
#   GLITTER_VM_KEEP=1        keep the run folder (console log, QEMU log)
#
# The first run installs the missing Debian packages (qemu-system-x86,
# i2c-tools) with apt-get when it runs as root or has password-less sudo,
# downloads linux-image-amd64 with "apt-get download" (never installing it),
# and keeps the kernel and the modules it needs in
# ${XDG_CACHE_HOME:-$HOME/.cache}/glitter/kernel. Delete that folder to pick
# up a newer Debian kernel. The VM always uses software emulation (TCG),
# never KVM.
set -euo pipefail

readonly SKIPPED=77 TIMED_OUT=124 VM_FAILED=125 USAGE=2

readonly APT_UPDATE_LIMIT=300 APT_INSTALL_LIMIT=600 DOWNLOAD_LIMIT=600 EXTRACT_LIMIT=300
readonly CACHE_LOCK_LIMIT=1800

# Guest modules: virtio and 9p for the host folders, virtio_console for the
# output ports, overlay for the writable root, and the I2C pair under test.
# Their dependencies are added from each module's "depends=" field.
readonly GUEST_MODULES=(virtio_pci 9pnet_virtio 9p virtio_console overlay i2c_dev i2c_stub)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
project=$(cd "$here/../.." && pwd -P)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/glitter/kernel

script_timeout=${GLITTER_VM_TIMEOUT:-300}
boot_timeout=${GLITTER_VM_BOOT_TIMEOUT:-120}
memory_mib=${GLITTER_VM_MEMORY:-1024}

log() {
    printf 'vm-run: %s\n' "$*" >&2
}

skip() {
    log "SKIP: $*"
    exit "$SKIPPED"
}

fail() {
    log "ERROR: $*"
    exit "$VM_FAILED"
}

usage_error() {
    log "$*"
    log "usage: test/kernel/vm-run.sh SCRIPT|- [ARG...] (see the comment at the top of this file)"
    exit "$USAGE"
}

require_whole_number() {
    local name=$1 value=$2
    [[ $value =~ ^[1-9][0-9]*$ ]] || usage_error "$name must be a whole number greater than 0, got '$value'"
}

# Quote a string for the guest's bash, so that any bytes survive.
shell_quote() {
    local quote="'" escaped="'\\''"
    printf "'%s'" "${1//$quote/$escaped}"
}

# QEMU splits option values at commas, and ",," is a literal comma.
qemu_escape() {
    printf '%s' "${1//,/,,}"
}

now_ms() {
    local microseconds=${EPOCHREALTIME//[.,]/}
    echo $((microseconds / 1000))
}

format_ms() {
    printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

# ---------------------------------------------------------------------------
# Host packages

apt_log=
apt_updated=0

can_run_as_root() {
    ((EUID == 0)) || sudo -n true 2>/dev/null
}

as_root() {
    if ((EUID == 0)); then
        "$@"
    else
        sudo -n "$@"
    fi
}

apt_update() {
    ((apt_updated == 0)) || return 0
    can_run_as_root || return 1
    log "running apt-get update (limit ${APT_UPDATE_LIMIT} s)"
    as_root timeout "$APT_UPDATE_LIMIT" apt-get update >>"$apt_log" 2>&1 || return 1
    apt_updated=1
}

apt_install() {
    if [[ ${GLITTER_VM_NO_INSTALL:-0} == 1 ]]; then
        skip "Debian packages $* are missing and GLITTER_VM_NO_INSTALL=1 forbids installing them"
    fi
    if ! can_run_as_root; then
        skip "Debian packages $* are missing; install them with: sudo apt-get install $*"
    fi

    local install=(env DEBIAN_FRONTEND=noninteractive timeout "$APT_INSTALL_LIMIT"
        apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=120 "$@")
    log "installing $* with apt-get (limit ${APT_INSTALL_LIMIT} s)"
    if as_root "${install[@]}" >>"$apt_log" 2>&1; then
        return 0
    fi
    # The package lists may be missing or stale, so update once and retry.
    if apt_update && as_root "${install[@]}" >>"$apt_log" 2>&1; then
        return 0
    fi
    skip "apt-get install $* failed (no network or no such package?); its output is in $apt_log"
}

# Download one .deb into a folder without installing it.
apt_download() {
    local package=$1 folder=$2
    if (cd "$folder" && timeout "$DOWNLOAD_LIMIT" apt-get download "$package") >>"$apt_log" 2>&1; then
        return 0
    fi
    if apt_update && (cd "$folder" && timeout "$DOWNLOAD_LIMIT" apt-get download "$package") >>"$apt_log" 2>&1; then
        return 0
    fi
    skip "apt-get download $package failed (no network?); its output is in $apt_log"
}

is_static_binary() {
    [[ -x $1 ]] || return 1
    # ldd exits with 1 for a static binary, so its output is what counts.
    local output
    output=$(LC_ALL=C ldd "$1" 2>&1 || true)
    [[ $output == *'not a dynamic executable'* ]]
}

busybox=

# The initramfs has no shared libraries, so it needs a static busybox. A
# dynamic busybox package on the host is left alone, and the static one is
# then unpacked into the cache instead of replacing it.
find_static_busybox() {
    local candidate
    local unpacked=("$cache/busybox/bin/busybox" "$cache/busybox/usr/bin/busybox")
    for candidate in /bin/busybox /usr/bin/busybox "${unpacked[@]}"; do
        if is_static_binary "$candidate"; then
            busybox=$candidate
            return 0
        fi
    done

    log "downloading busybox-static into $cache/busybox"
    local folder
    folder=$(mktemp -d "$cache/busybox-download.XXXXXX")
    apt_download busybox-static "$folder"
    rm -rf "$cache/busybox"
    timeout "$EXTRACT_LIMIT" dpkg-deb -x "$folder"/busybox-static_*.deb "$cache/busybox" ||
        fail "unpacking busybox-static failed"
    rm -rf "$folder"
    for candidate in "${unpacked[@]}"; do
        if is_static_binary "$candidate"; then
            busybox=$candidate
            return 0
        fi
    done
    fail "the busybox-static package contains no static busybox binary (looked in $cache/busybox)"
}

prepare_host_tools() {
    local command
    for command in apt-get dpkg-deb flock timeout ldd; do
        command -v "$command" >/dev/null ||
            skip "'$command' is missing; this harness needs a Debian-based host"
    done

    local missing=()
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    [[ -x /usr/sbin/i2cset && -x /usr/sbin/i2cget && -x /usr/sbin/i2cdump ]] || missing+=(i2c-tools)
    if ((${#missing[@]} > 0)); then
        apt_install "${missing[@]}"
    fi
    command -v qemu-system-x86_64 >/dev/null ||
        skip "qemu-system-x86_64 is still missing after installing qemu-system-x86"

    find_static_busybox
}

# ---------------------------------------------------------------------------
# Kernel and modules, cached

# The package that linux-image-amd64 currently depends on, for example
# linux-image-6.1.0-57-amd64.
kernel_package_name() {
    local depends
    depends=$(apt-cache depends linux-image-amd64 2>/dev/null || true)
    sed -n 's/^ *Depends: \(linux-image-[^ <>]*\)$/\1/p' <<<"$depends" | head -n 1
}

# Write an uncompressed vmlinux next to the bzImage when possible. QEMU boots
# an ELF kernel through its PVH entry point without running the bzImage
# decompressor, which under TCG saved 2 to 3 s per boot with Debian 12's
# 6.1 kernel. Debian 12 compresses its kernel with xz.
extract_vmlinux() {
    local bzimage=$1 config=$2 output=$3
    grep -q '^CONFIG_PVH=y' "$config" || return 1
    command -v xz >/dev/null || return 1

    local offset
    offset=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bzimage" | head -n 1 | cut -d : -f 1)
    [[ -n $offset ]] || return 1
    # --single-stream stops at the end of the kernel and ignores the bytes
    # that follow it in the bzImage. Because xz stops reading before tail
    # ends, tail runs in a process substitution, where its SIGPIPE does not
    # fail the command.
    xz -dc --single-stream <(tail -c +$((offset + 1)) "$bzimage") >"$output" 2>/dev/null || return 1
    [[ $(head -c 4 "$output" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]
}

# Copy the guest modules and everything they depend on from the unpacked
# package's module tree to the output tree, uncompressed, because busybox
# insmod may not read .ko.xz or .ko.zst files.
collect_modules() {
    local source=$1 target=$2
    local -A seen=()
    local queue=("${GUEST_MODULES[@]}")
    local name pattern file relative copy depends dependency

    while ((${#queue[@]} > 0)); do
        name=${queue[0]//-/_}
        queue=("${queue[@]:1}")
        [[ -z ${seen[$name]:-} ]] || continue
        seen[$name]=1

        pattern=${name//_/[-_]}
        if grep -q "/$pattern\.ko\(\.[a-z]*\)\?$" "$source/modules.builtin" 2>/dev/null; then
            continue
        fi
        file=$(find "$source/kernel" -name "$pattern.ko*" -print -quit)
        [[ -n $file ]] || fail "kernel module $name is neither in the package nor built in"

        relative=${file#"$source"/}
        relative=${relative%.xz}
        relative=${relative%.zst}
        relative=${relative%.gz}
        copy=$target/$relative
        mkdir -p "$(dirname "$copy")"
        case $file in
            *.ko) cp "$file" "$copy" ;;
            *.ko.xz) xz -dc "$file" >"$copy" ;;
            *.ko.zst)
                command -v zstd >/dev/null || apt_install zstd
                zstd -qdc "$file" >"$copy"
                ;;
            *.ko.gz) gzip -dc "$file" >"$copy" ;;
            *) fail "unknown kernel module format: $file" ;;
        esac

        depends=$(tr '\0' '\n' <"$copy" | grep -a -m 1 '^depends=' || true)
        depends=${depends#depends=}
        for dependency in ${depends//,/ }; do
            queue+=("$dependency")
        done
    done

    local index
    for index in modules.builtin modules.builtin.modinfo modules.order; do
        if [[ -f $source/$index ]]; then
            cp "$source/$index" "$target/"
        fi
    done
}

kernel_dir=
build_dir=

prepare_kernel() {
    if [[ -f $cache/current/ready ]]; then
        kernel_dir=$(readlink -f "$cache/current")
        return 0
    fi

    # Build folders are made only under the cache lock, so any that exist now
    # were left by a run that was stopped or skipped.
    rm -rf "$cache"/build.* "$cache"/busybox-download.*

    local package
    package=$(kernel_package_name)
    if [[ -z $package ]]; then
        apt_update || true
        package=$(kernel_package_name)
    fi
    [[ -n $package ]] || skip "apt knows no linux-image-amd64 package (not Debian, or no package lists)"

    log "downloading $package into $cache (once; limit ${DOWNLOAD_LIMIT} s)"
    build_dir=$(mktemp -d "$cache/build.XXXXXX")
    local build=$build_dir
    apt_download "$package" "$build"
    local deb
    deb=$(find "$build" -maxdepth 1 -name '*.deb' -print -quit)
    timeout "$EXTRACT_LIMIT" dpkg-deb -x "$deb" "$build/root" || fail "unpacking $deb failed"

    local module_root release
    module_root=$(find "$build/root/lib/modules" "$build/root/usr/lib/modules" -mindepth 1 -maxdepth 1 \
        -type d -print -quit 2>/dev/null || true)
    [[ -n $module_root ]] || fail "$package contains no lib/modules folder"
    release=${module_root##*/}

    local output=$build/out
    mkdir -p "$output/lib/modules/$release"
    echo "$release" >"$output/release"
    cp "$build/root/boot/vmlinuz-$release" "$output/vmlinuz"
    if extract_vmlinux "$output/vmlinuz" "$build/root/boot/config-$release" "$output/vmlinux"; then
        echo vmlinux >"$output/image"
        rm "$output/vmlinuz"
    else
        rm -f "$output/vmlinux"
        echo vmlinuz >"$output/image"
    fi

    collect_modules "$module_root" "$output/lib/modules/$release"
    "$busybox" depmod -b "$output" "$release" || fail "busybox depmod failed for $release"
    touch "$output/ready"

    rm -rf "${cache:?}/$release"
    mv "$output" "$cache/$release"
    ln -sfn "$release" "$cache/current"
    rm -rf "$build"
    build_dir=
    kernel_dir=$cache/$release
    log "kernel $release ready in $kernel_dir"
}

# ---------------------------------------------------------------------------
# One run

run_dir=
qemu_pid=
stdout_pid=
stderr_pid=

# A reader blocked in opening a FIFO whose writer never came (QEMU failed
# early) wakes up when any writer opens it, and then reads end of file.
release_fifo_readers() {
    local fifo fd
    for fifo in "$run_dir/stdout.fifo" "$run_dir/stderr.fifo"; do
        if [[ -p $fifo ]]; then
            exec {fd}<>"$fifo"
            exec {fd}>&-
        fi
    done
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [[ -n $build_dir ]]; then
        rm -rf "$build_dir"
    fi
    if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
    fi
    if [[ -n $run_dir ]]; then
        release_fifo_readers
        [[ -z $stdout_pid ]] || wait "$stdout_pid" 2>/dev/null || true
        [[ -z $stderr_pid ]] || wait "$stderr_pid" 2>/dev/null || true
        if [[ ${GLITTER_VM_KEEP:-0} == 1 ]]; then
            log "run folder kept: $run_dir"
        else
            rm -rf "$run_dir"
        fi
    fi
}

print_console_tail() {
    local line
    if [[ -s $run_dir/qemu.log ]]; then
        while IFS= read -r line; do
            log "qemu: $line"
        done <"$run_dir/qemu.log"
    fi
    if [[ -s $run_dir/console.log ]]; then
        log "last lines of the kernel console:"
        while IFS= read -r line; do
            log "console: ${line%$'\r'}"
        done < <(tail -n 25 "$run_dir/console.log")
    fi
}

write_job() {
    local script_path=$1
    shift
    local job=$run_dir/job
    mkdir -p "$job"

    local guest_script
    if [[ $script_path == - ]]; then
        cat >"$job/script"
        guest_script=/run/glitter/job/script
    else
        [[ -r $script_path && ! -d $script_path ]] || usage_error "cannot read the script '$script_path'"
        guest_script=$(realpath -- "$script_path")
        # The guest mounts its own /proc, /sys, /dev and /run, so a script
        # there (for example a /dev/fd/N from process substitution) is copied.
        case $guest_script in
            /proc/* | /sys/* | /dev/* | /run/*)
                cat -- "$script_path" >"$job/script"
                guest_script=/run/glitter/job/script
                ;;
        esac
    fi

    {
        echo "export GLITTER_SCRIPT=$(shell_quote "$guest_script")"
        echo "export GLITTER_CWD=$(shell_quote "$project")"
        echo "export PATH=$(shell_quote "/run/glitter/bin:$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")"
        local name
        for name in ${GLITTER_VM_ENV:-}; do
            [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || usage_error "GLITTER_VM_ENV contains an invalid variable name '$name'"
            if [[ -v $name ]]; then
                echo "export $name=$(shell_quote "${!name}")"
            fi
        done
    } >"$job/env"

    {
        printf 'set --'
        local argument
        for argument in "$@"; do
            printf ' %s' "$(shell_quote "$argument")"
        done
        printf '\n'
    } >"$job/args"

    echo "$script_timeout" >"$job/timeout"
}

build_initramfs() {
    local release=$1
    local stage=$run_dir/initramfs
    mkdir -p "$stage"/{bin,dev,proc,sys,glitter/bin,lib/modules}
    cp "$busybox" "$stage/bin/busybox"
    ln -s busybox "$stage/bin/sh"
    cp "$here/guest/init" "$stage/init"
    cp "$here"/guest/bin/* "$stage/glitter/bin/"
    chmod 755 "$stage/init" "$stage"/glitter/bin/*
    cp -R "$kernel_dir/lib/modules/$release" "$stage/lib/modules/"
    (cd "$stage" && find . -print | "$busybox" cpio -o -H newc >"$run_dir/initramfs.cpio" 2>"$run_dir/cpio.log") ||
        fail "building the initramfs failed: $(cat "$run_dir/cpio.log")"
    rm -rf "$stage"
}

start_vm() {
    local image=$1
    local run=$run_dir
    # The guest runs only test code, so it skips CPU vulnerability
    # mitigations, and "quiet loglevel=4" keeps only warnings and errors in
    # the console log.
    # shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
    local qemu_args=(
        -accel tcg -cpu max -machine q35 -smp 1 -m "$memory_mib"
        -nodefaults -no-user-config -display none -no-reboot
        -kernel "$image" -initrd "$run/initramfs.cpio"
        -append "console=ttyS0 quiet loglevel=4 panic=-1 mitigations=off"
        -chardev "file,id=console,path=$(qemu_escape "$run/console.log")"
        -serial chardev:console
        -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
        -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
        -fsdev "local,id=job,path=$(qemu_escape "$run/job"),security_model=none,readonly=on"
        -device virtio-9p-pci,fsdev=job,mount_tag=glitterjob
        -device virtio-serial-pci
        -chardev "file,id=stdout,path=$(qemu_escape "$run/stdout.fifo")"
        -device virtserialport,chardev=stdout,name=glitter.stdout
        -chardev "file,id=stderr,path=$(qemu_escape "$run/stderr.fifo")"
        -device virtserialport,chardev=stderr,name=glitter.stderr
        -chardev "file,id=status,path=$(qemu_escape "$run/status")"
        -device virtserialport,chardev=status,name=glitter.status
    )

    mkfifo "$run/stdout.fifo" "$run/stderr.fifo"
    : >"$run/status"
    cat "$run/stdout.fifo" &
    stdout_pid=$!
    cat "$run/stderr.fifo" >&2 &
    stderr_pid=$!

    # The outer limit only catches a guest that hangs: the guest itself stops
    # the script after GLITTER_VM_TIMEOUT and then powers off.
    local limit=$((boot_timeout + script_timeout + 30))
    timeout -k 5 "$limit" qemu-system-x86_64 "${qemu_args[@]}" >"$run/qemu.log" 2>&1 &
    qemu_pid=$!
}

main() {
    [[ $# -ge 1 ]] || usage_error "missing the script argument"
    case $1 in
        -h | --help)
            sed -n '2,/^set -euo pipefail$/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
            exit 0
            ;;
    esac
    require_whole_number GLITTER_VM_TIMEOUT "$script_timeout"
    require_whole_number GLITTER_VM_BOOT_TIMEOUT "$boot_timeout"
    require_whole_number GLITTER_VM_MEMORY "$memory_mib"

    local machine
    machine=$(uname -m)
    # The guest runs the host's own node and i2c-tools binaries.
    [[ $machine == x86_64 ]] || skip "needs an x86-64 host to run its binaries in the x86-64 VM (this host is $machine)"
    case $project in
        /proc/* | /sys/* | /dev/* | /run/*)
            fail "the project folder $project is under a folder that the VM replaces with its own"
            ;;
    esac

    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP

    mkdir -p "$cache"
    apt_log=$cache/apt.log
    local lock_fd
    exec {lock_fd}>"$cache/lock"
    flock -w "$CACHE_LOCK_LIMIT" "$lock_fd" ||
        fail "another vm-run.sh held $cache/lock for more than $CACHE_LOCK_LIMIT s"
    prepare_host_tools
    prepare_kernel
    flock -u "$lock_fd"

    local release image
    release=$(cat "$kernel_dir/release")
    image=$kernel_dir/$(cat "$kernel_dir/image")

    run_dir=$(mktemp -d "${TMPDIR:-/tmp}/glitter-vm.XXXXXX")

    write_job "$@"
    build_initramfs "$release"

    local started_ms ready_ms=
    started_ms=$(now_ms)
    start_vm "$image"

    # Watch for the guest's "ready" line, so that a boot that hangs is stopped
    # after GLITTER_VM_BOOT_TIMEOUT instead of the whole outer limit.
    local boot_timed_out=0
    while kill -0 "$qemu_pid" 2>/dev/null; do
        if grep -q '^ready ' "$run_dir/status"; then
            ready_ms=$(now_ms)
            break
        fi
        grep -q '^error ' "$run_dir/status" && break
        if (($(now_ms) - started_ms > boot_timeout * 1000)); then
            boot_timed_out=1
            kill "$qemu_pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
    done

    local qemu_status=0
    wait "$qemu_pid" || qemu_status=$?
    qemu_pid=
    local finished_ms
    finished_ms=$(now_ms)
    release_fifo_readers
    wait "$stdout_pid" "$stderr_pid" 2>/dev/null || true
    stdout_pid=
    stderr_pid=

    local status_lines error_line exit_line
    status_lines=$(cat "$run_dir/status")
    error_line=$(grep -m 1 '^error ' <<<"$status_lines" || true)
    exit_line=$(grep -m 1 '^exit ' <<<"$status_lines" || true)

    if [[ -n $error_line ]]; then
        print_console_tail
        fail "VM setup failed: ${error_line#error }"
    fi
    if ((boot_timed_out)); then
        print_console_tail
        fail "the VM did not start the script within GLITTER_VM_BOOT_TIMEOUT=$boot_timeout s"
    fi
    if ! grep -q '^ready ' <<<"$status_lines"; then
        print_console_tail
        fail "QEMU stopped (exit status $qemu_status) before the VM started the script"
    fi

    if [[ ${GLITTER_VM_VERBOSE:-0} == 1 ]]; then
        local ready_uptime exit_uptime
        ready_uptime=$(sed -n 's/^ready \([0-9.]*\)$/\1/p' <<<"$status_lines")
        exit_uptime=${exit_line##* }
        log "boot: $(format_ms $((ready_ms - started_ms))) s from QEMU start to the script's start" \
            "(guest uptime $ready_uptime s); script ended at guest uptime ${exit_uptime:-?} s;" \
            "QEMU ran $(format_ms $((finished_ms - started_ms))) s"
    fi

    if grep -q '^timeout ' <<<"$status_lines"; then
        log "the script ran longer than GLITTER_VM_TIMEOUT=$script_timeout s and was stopped"
        exit "$TIMED_OUT"
    fi
    if [[ -z $exit_line ]]; then
        print_console_tail
        fail "the VM stopped while the script ran (QEMU exit status $qemu_status)"
    fi

    local exit_code
    exit_code=$(cut -d ' ' -f 2 <<<"$exit_line")
    exit "$exit_code"
}

main "$@"
