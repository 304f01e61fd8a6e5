#!/bin/bash
# Usage: check.sh NVR RESULTS_FILE
# Appends one result to RESULTS_FILE: PASSED when the release ends in a dist
# tag such as .fc40 or .el9, FAILED otherwise. Writes a small log into the
# job's artifacts directory ($TASKOTRON_ARTIFACTSDIR).
set -euo pipefail
nvr=$1
results=$2
release=${nvr##*-}
log="$TASKOTRON_ARTIFACTSDIR/shell-check.log"

if [[ $release =~ \.(fc|el|eln)[0-9]+(_[0-9]+)?$ ]]; then
    outcome=PASSED
    note="release $release has dist tag ${BASH_REMATCH[0]#.}"
else
    outcome=FAILED
    note="release $release has no dist tag"
fi
echo "$nvr: $note" | tee "$log"

taskotron result -f "$results" -i "$nvr" -t koji_build -o "$outcome" \
    -n "$note" -a shell-check.log -k release="$release"
