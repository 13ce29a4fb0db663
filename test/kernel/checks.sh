# shellcheck shell=bash
# Check helpers for guest scripts, sourced with: . test/kernel/checks.sh
# Each check prints "ok: ..." or "FAILED: ..."; finish with check_summary, which prints
# "N passed, N failed" and returns non-zero when a check failed.
passed=0
failed=0

pass() {
    passed=$((passed + 1))
    echo "ok: $1"
}

failure() {
    failed=$((failed + 1))
    echo "FAILED: $1"
}

# Usage: expect_equal DESCRIPTION EXPECTED ACTUAL
expect_equal() {
    if [[ $2 == "$3" ]]; then
        pass "$1"
    else
        failure "$1 (expected '$2', got '$3')"
    fi
}

# Usage: expect_contains DESCRIPTION PART TEXT
expect_contains() {
    if [[ $3 == *"$2"* ]]; then
        pass "$1"
    else
        failure "$1 ('$2' not in: $3)"
    fi
}

check_summary() {
    echo "$passed passed, $failed failed"
    ((failed == 0))
}
