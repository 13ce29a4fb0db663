#!/usr/bin/env bash
# Guest script that shows what vm-run.sh provides, with a check per claim:
#   test/kernel/vm-run.sh test/kernel/demo.sh [I2C_BUS_PACKAGE_FOLDER]
# I2C_BUS_PACKAGE_FOLDER, when given, is a folder whose node_modules contains
# a built i2c-bus addon, and the demo then writes registers through it too.
#
# i2c-stub keeps a 256-byte register file per fake chip and implements only
# SMBus transfers, so registers written here read back, which the real
# write-only SN3218 never allows.
set -euo pipefail

i2c_bus_folder=${1:-}
# shellcheck source=test/kernel/checks.sh
. test/kernel/checks.sh

# Usage: expect_failure DESCRIPTION EXPECTED_MESSAGE_PART COMMAND...
# Passes when COMMAND exits non-zero and its output contains the message.
expect_failure() {
    local description=$1 expected=$2
    shift 2
    local output status=0
    output=$("$@" 2>&1) || status=$?
    if ((status != 0)) && [[ $output == *"$expected"* ]]; then
        pass "$description: $output"
    else
        failure "$description (exit status $status, output '$output', expected '$expected')"
    fi
}

# Prints only the error code (ENOENT, EACCES...) when the open fails.
open_bus_in_node='
    try {
        require("fs").closeSync(require("fs").openSync("/dev/i2c-0", "r+"));
    } catch (error) {
        console.error(error.code);
        process.exit(1);
    }'

read_register() {
    /usr/sbin/i2cget -y "$I2C_BUS" 0x54 "$1"
}

start_uptime=$(cut -d ' ' -f 1 /proc/uptime)
echo "kernel $(uname -r), I2C_BUS=$I2C_BUS, cwd $PWD, uid $(id -u)"
# shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
node -e 'console.log(`node ${process.version} (${process.arch})`)'

expect_equal "cwd is the project folder" yes "$([[ -f test/kernel/vm-run.sh ]] && echo yes || echo no)"
expect_equal "/dev/i2c-0 is a character device" yes "$([[ -c /dev/i2c-0 ]] && echo yes || echo no)"

# SN3218 start-up sequence: normal mode, one PWM value, latch with 0x16.
/usr/sbin/i2cset -y "$I2C_BUS" 0x54 0x00 0x01
/usr/sbin/i2cset -y "$I2C_BUS" 0x54 0x01 0x20
/usr/sbin/i2cset -y "$I2C_BUS" 0x54 0x16 0xff
expect_equal "i2cset then i2cget on register 0x01" 0x20 "$(read_register 0x01)"

# An SMBus I2C-block write fills consecutive registers, like the chip's
# auto-increment.
/usr/sbin/i2cset -y "$I2C_BUS" 0x54 0x02 0x40 0x80 0xff i
expect_equal "block write lands in 0x02..0x04" "0x40 0x80 0xff" \
    "$(read_register 0x02) $(read_register 0x03) $(read_register 0x04)"

echo "i2cdump of registers 0x00-0x17:"
/usr/sbin/i2cdump -y -r 0x00-0x17 "$I2C_BUS" 0x54 b
row=$(/usr/sbin/i2cdump -y -r 0x00-0x0f "$I2C_BUS" 0x54 b | grep '^00:')
expect_equal "i2cdump row 00 starts with the written bytes" "00: 01 20 40 80 ff" "${row:0:18}"

# i2c-stub has no plain I2C transfer (I2C_RDWR ioctl or write(2)), only SMBus.
expect_failure "plain I2C transfer is rejected by i2c-stub" "I2C transfers capability" \
    /usr/sbin/i2ctransfer -y "$I2C_BUS" w2@0x54 0x01 0x11

# Unplug while a process has the device open: the open file keeps a
# reference on i2c-stub, so rmmod fails.
exec {held_fd}<>/dev/i2c-0
expect_failure "unload while /dev/i2c-0 is open" "i2c_stub" glitter-stub-unload
exec {held_fd}>&-

glitter-stub-unload
expect_equal "/dev/i2c-0 is gone after unload" gone "$([[ -e /dev/i2c-0 ]] && echo present || echo gone)"
expect_failure "node open of a missing bus" "ENOENT" node -e "$open_bus_in_node"

glitter-stub-load
expect_equal "/dev/i2c-0 is back after reload" yes "$([[ -c /dev/i2c-0 ]] && echo yes || echo no)"
expect_equal "reload starts with cleared registers" 0x00 "$(read_register 0x01)"

# A fake chip at another address: writes to 0x54 are not acknowledged.
glitter-stub-unload
glitter-stub-load 0x55
expect_failure "write to an absent address" "Write failed" \
    /usr/sbin/i2cset -y "$I2C_BUS" 0x54 0x00 0x01
glitter-stub-unload
glitter-stub-load

# Without udev the node is root-only, so "nobody" gets EACCES until the mode
# allows it.
chmod 600 /dev/i2c-0
expect_failure "nobody opens a mode 600 /dev/i2c-0" "EACCES" \
    glitter-run-as 65534 node -e "$open_bus_in_node"
chmod 666 /dev/i2c-0
glitter-run-as 65534 /usr/sbin/i2cset -y "$I2C_BUS" 0x54 0x05 0x55
expect_equal "nobody writes a mode 666 /dev/i2c-0" 0x55 "$(read_register 0x05)"

# Removing i2c-dev removes every /dev/i2c-N, as on a Pi without i2c-dev loaded.
rmmod i2c_dev
expect_equal "no /dev/i2c-0 without i2c-dev" gone "$([[ -e /dev/i2c-0 ]] && echo present || echo gone)"
modprobe i2c-dev
expect_equal "/dev/i2c-0 is back with i2c-dev" yes "$([[ -c /dev/i2c-0 ]] && echo yes || echo no)"

if [[ -n $i2c_bus_folder ]]; then
    # shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
    I2C_BUS_MODULE=$i2c_bus_folder/node_modules/i2c-bus node -e '
        const i2c = require(process.env.I2C_BUS_MODULE);
        const bus = i2c.openSync(Number(process.env.I2C_BUS));
        bus.writeI2cBlockSync(0x54, 0x01, 3, Buffer.from([1, 2, 3]));
        try {
            bus.i2cWriteSync(0x54, 2, Buffer.from([0x01, 0x09]));
            console.log("i2c-bus i2cWriteSync (plain write) succeeded");
        } catch (error) {
            console.log(`i2c-bus i2cWriteSync (plain write) failed: ${error.code}`);
        }
        bus.closeSync();
    '
    expect_equal "i2c-bus block write read back by i2cget" "0x01 0x02 0x03" \
        "$(read_register 0x01) $(read_register 0x02) $(read_register 0x03)"

    # The error code that an application gets when no chip acknowledges 0x54.
    glitter-stub-unload
    glitter-stub-load 0x55
    # shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
    I2C_BUS_MODULE=$i2c_bus_folder/node_modules/i2c-bus node -e '
        const bus = require(process.env.I2C_BUS_MODULE).openSync(Number(process.env.I2C_BUS));
        try {
            bus.writeI2cBlockSync(0x54, 0x01, 3, Buffer.from([1, 2, 3]));
            console.log("i2c-bus write to an absent address succeeded");
        } catch (error) {
            console.log(`i2c-bus write to an absent address failed: ${error.code}`);
        }
        bus.closeSync();
    '
    glitter-stub-unload
    glitter-stub-load
fi

end_uptime=$(cut -d ' ' -f 1 /proc/uptime)
echo "demo ran from guest uptime $start_uptime s to $end_uptime s"
check_summary
