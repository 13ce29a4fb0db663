#!/usr/bin/env bash
# Guest script of the kernel test tier: runs the built glitter CLI (dist/) with the real i2c-bus
# addon against /dev/i2c-0 of Debian's kernel, where i2c-stub plays the SN3218 at 0x54.
#   npm run build && test/kernel/vm-run.sh test/kernel/glitter-checks.sh
# i2c-stub stores every register written and returns it to SMBus reads, so i2cget shows what
# glitter latched. Ends with the line "N passed, N failed".
set -euo pipefail

# shellcheck source=test/kernel/checks.sh
. test/kernel/checks.sh

bus=$I2C_BUS
glitter=(node dist/src/cli.js)

# Usage: expect_failure DESCRIPTION EXPECTED_MESSAGE_PART COMMAND...
# Passes when COMMAND exits 1 and its stderr and stdout contain the message part.
expect_failure() {
    local description=$1 expected=$2
    shift 2
    local output status=0
    output=$("$@" 2>&1) || status=$?
    if ((status == 1)) && [[ $output == *"$expected"* ]]; then
        pass "$description"
    else
        failure "$description (exit status $status, expected '$expected' in: $output)"
    fi
}

register() {
    /usr/sbin/i2cget -y "$bus" 0x54 "$1"
}

# Prints registers FIRST..LAST as space-separated hex bytes.
registers() {
    local first=$1 last=$2 bytes=() index
    for ((index = first; index <= last; index++)); do
        bytes+=("$(register "$(printf '0x%02x' "$index")")")
    done
    echo "${bytes[*]}"
}

# Prints the 18 PWM registers as decimal numbers joined by commas, like the JSON view.
pwm_registers() {
    local values=() value
    for value in $(registers 0x01 0x12); do
        values+=("$((value))")
    done
    (IFS=,; echo "${values[*]}")
}

zeros18="0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0"

echo "kernel $(uname -r), /dev/i2c-$bus, $(node --version)"

# --- glitter set and off --------------------------------------------------------------------
"${glitter[@]}" set red 40 top-white 255 --bus "$bus"
expect_equal "set: shutdown register is normal operation" 0x01 "$(register 0x00)"
expect_equal "set: every LED enabled" "0x3f 0x3f 0x3f" "$(registers 0x13 0x15)"
# Red ring: channels 6, 17, 0 -> OUT7, OUT18, OUT1; top-white: channel 9 -> OUT10.
expect_equal "set: red ring at 40, top-white at 255" \
    "40,0,0,0,0,0,40,0,0,255,0,0,0,0,0,0,0,40" "$(pwm_registers)"

"${glitter[@]}" off --bus "$bus"
expect_equal "off: PWM all zero" "$zeros18" "$(pwm_registers)"
expect_equal "off: software shutdown" 0x00 "$(register 0x00)"

# --- glitter cpu: registers hold the last JSON frame ----------------------------------------
frames=$("${glitter[@]}" cpu --bus "$bus" --view json --frames 3 --interval 0.2 --style classic --keep-on-exit 2>/dev/null)
last_pwm=$(tail -n 1 <<<"$frames" | sed -E 's/.*"pwm":\[([0-9,]*)\].*/\1/')
expect_equal "cpu: three frames printed" 3 "$(wc -l <<<"$frames" | tr -d ' ')"
expect_equal "cpu: PWM registers hold the last frame" "$last_pwm" "$(pwm_registers)"
expect_equal "cpu: normal operation" 0x01 "$(register 0x00)"
expect_equal "cpu: every LED enabled" "0x3f 0x3f 0x3f" "$(registers 0x13 0x15)"
expect_equal "cpu: classic lights the red ring at PWM 20" "0x14 0x14 0x14" \
    "$(register 0x07) $(register 0x12) $(register 0x01)"

# --- SIGTERM clears and exits 0 within a second ---------------------------------------------
log=$(mktemp)
out=$(mktemp)
"${glitter[@]}" cpu --bus "$bus" --view json --interval 0.2 --style classic >"$out" 2>"$log" &
pid=$!
for _ in $(seq 100); do
    [[ $(wc -l <"$out") -ge 2 ]] && break
    sleep 0.1
done
expect_equal "sigterm: red ring lit before the signal" 0x14 "$(register 0x07)"
start=$(date +%s%N)
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
stop_ms=$((($(date +%s%N) - start) / 1000000))
expect_equal "sigterm: exit status 0" 0 "$status"
if ((stop_ms < 1000)); then pass "sigterm: exited in $stop_ms ms"; else failure "sigterm: exited in $stop_ms ms"; fi
expect_equal "sigterm: PWM all zero" "$zeros18" "$(pwm_registers)"
expect_equal "sigterm: last JSON frame is dark" "$zeros18" \
    "$(tail -n 1 "$out" | sed -E 's/.*"pwm":\[([0-9,]*)\].*/\1/')"

# --- set-up errors, at start-up -------------------------------------------------------------
expect_failure "missing device" "/dev/i2c-7 does not exist" "${glitter[@]}" cpu --bus 7
expect_failure "set on a missing device" "/dev/i2c-7 does not exist" "${glitter[@]}" set red 1 --bus 7

glitter-stub-unload
glitter-stub-load 0x55
expect_failure "no chip at 0x54" "Nothing answered at 0x54 on /dev/i2c-$bus (ENODEV)" \
    "${glitter[@]}" cpu --bus "$bus"
doctor_status=0
doctor=$("${glitter[@]}" doctor --bus "$bus") || doctor_status=$?
echo "$doctor"
expect_equal "doctor: fails without a chip" 1 "$doctor_status"
expect_contains "doctor: names the missing PiGlow" "FAIL  PiGlow" "$doctor"
glitter-stub-unload
glitter-stub-load 0x54

chmod 600 "/dev/i2c-$bus"
expect_failure "no permission" "No permission to open /dev/i2c-$bus (EACCES)" \
    glitter-run-as 65534:65534 "${glitter[@]}" cpu --bus "$bus"
chgrp 4242 "/dev/i2c-$bus"
chmod 660 "/dev/i2c-$bus"
expect_failure "no permission names the group id" "belongs to group id 4242, which has no name here. In a container pass --group-add 4242" \
    glitter-run-as 65534:65534 "${glitter[@]}" set red 1 --bus "$bus"
doctor=$(glitter-run-as 65534:65534 "${glitter[@]}" doctor --bus "$bus" || true)
echo "$doctor"
expect_contains "doctor: reports EACCES" "EACCES" "$doctor"
expect_equal "group member can write" 0 \
    "$(glitter-run-as 65534:4242 "${glitter[@]}" set red 2 --bus "$bus" >/dev/null 2>&1; echo $?)"
chmod 600 "/dev/i2c-$bus"
chgrp 0 "/dev/i2c-$bus"

doctor_status=0
doctor=$("${glitter[@]}" doctor --bus "$bus") || doctor_status=$?
echo "$doctor"
expect_contains "doctor: finds the chip" "OK    PiGlow" "$doctor"

# --- unplug and replug under a running daemon -----------------------------------------------
"${glitter[@]}" cpu --bus "$bus" --view json --interval 0.2 --style classic --refresh 1 >"$out" 2>"$log" &
pid=$!
for _ in $(seq 100); do
    [[ $(wc -l <"$out") -ge 2 ]] && break
    sleep 0.1
done
unloaded=no
for _ in $(seq 100); do
    if glitter-stub-unload 2>/dev/null; then
        unloaded=yes
        break
    fi
    sleep 0.02
done
expect_equal "replug: i2c-stub unloaded under the daemon" yes "$unloaded"
sleep 1.5
glitter-stub-load 0x54
expect_equal "replug: reloaded stub starts blank" 0x00 "$(register 0x07)"
lit=no
for _ in $(seq 80); do
    if [[ $(register 0x00) == 0x01 && $(register 0x07) == 0x14 ]]; then
        lit=yes
        break
    fi
    sleep 0.1
done
expect_equal "replug: lit again without a restart" yes "$lit"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
expect_equal "replug: daemon exits 0" 0 "$status"
expect_contains "replug: failure logged" '"msg":"bus write failed; retrying with backoff"' "$(cat "$log")"
expect_contains "replug: recovery logged" '"msg":"bus recovered' "$(cat "$log")"
expect_equal "replug: PWM all zero after SIGTERM" "$zeros18" "$(pwm_registers)"

check_summary
