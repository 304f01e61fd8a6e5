#!/bin/bash
# Usage: suite.sh NVR
# A tiny test suite over an NVR that prints a JUnit XML report on stdout, as
# many real test frameworks can. Each test case passes or fails on its own.
set -euo pipefail
nvr=$1
name=${nvr%-*-*}
rest=${nvr#"$name"-}
version=${rest%-*}
release=${rest#*-}

cases=()
run_case() {  # run_case NAME CONDITION-COMMAND...
    local case=$1
    shift
    if "$@"; then
        cases+=("<testcase classname=\"nvr\" name=\"$case\"/>")
    else
        cases+=("<testcase classname=\"nvr\" name=\"$case\"><failure message=\"$case failed for $nvr\"/></testcase>")
    fi
}

run_case name_is_lowercase test "$name" = "${name,,}"
run_case version_starts_with_digit grep -qE '^[0-9]' <<<"$version"
run_case release_has_dist_tag grep -qE '\.(fc|el|eln)[0-9]+' <<<"$release"

failures=0
for c in "${cases[@]}"; do [[ $c == *"<failure"* ]] && failures=$((failures + 1)); done
echo '<?xml version="1.0" encoding="UTF-8"?>'
echo "<testsuite name=\"nvr\" tests=\"${#cases[@]}\" failures=\"$failures\">"
printf '  %s\n' "${cases[@]}"
echo '</testsuite>'
