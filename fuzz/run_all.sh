#!/usr/bin/env bash
# Run the three atheris harnesses of fuzz/ (fuzz/README.md), niced, logging under
# $LOG_DIR. Minutes per harness: PARSE_MIN, ENTROPY_MIN, DECODE_MIN (25, 20, 15 by
# default: an hour). PARALLEL=1 runs the three at once instead of one after another.
# New corpus entries go to $LOG_DIR/corpus/<harness> (the seeds in fuzz/corpus stay as
# built); crashes, hangs and slow inputs to $LOG_DIR/artifacts/<harness>-*.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY=${PYTHON:-$ROOT/.venv/bin/python}
LOG_DIR=${LOG_DIR:-/tmp/openlic-fuzz}
NICE=${NICE:-10}
declare -A MINUTES=([parse]=${PARSE_MIN:-25} [entropy]=${ENTROPY_MIN:-20} [decode]=${DECODE_MIN:-15})

"$PY" -c "import atheris" 2>/dev/null || {
    echo "atheris is missing: pip install -e '.[fuzz]'" >&2
    exit 1
}
if [ ! -d "$HERE/corpus/decode" ] || [ ! -f "$HERE/work/tiny.olp" ]; then
    nice -n "$NICE" "$PY" "$HERE/build_corpus.py" || exit 1
fi
mkdir -p "$LOG_DIR/artifacts"

run() {
    # libFuzzer stops at the first crash: restart (up to 20 times) until the harness has
    # had its minutes, one log per round ($h.log, $h.log.2, ...).
    local h=$1 left=$((MINUTES[$1] * 60)) round=1 log start
    mkdir -p "$LOG_DIR/corpus/$h"
    echo "$(date -Is) start $h for ${MINUTES[$h]} min, log $LOG_DIR/$h.log"
    while ((left > 0 && round <= 20)); do
        log=$LOG_DIR/$h.log$([ "$round" = 1 ] || echo ".$round")
        start=$(date +%s)
        # -timeout: an input taking over 10 s is a hang; -rss_limit_mb: over 2 GiB is a
        # finding (every input is far below the limits of level 1).
        /usr/bin/time -v nice -n "$NICE" "$PY" "$HERE/fuzz_$h.py" \
            "$LOG_DIR/corpus/$h" "$HERE/corpus/$h" \
            -max_len=4096 -timeout=10 -rss_limit_mb=2048 -max_total_time="$left" \
            -print_final_stats=1 -artifact_prefix="$LOG_DIR/artifacts/$h-" >"$log" 2>&1
        echo "$(date -Is) $h round $round: exit $?," \
            "$(grep -E '^stat::number_of_executed_units' "$log" || echo 'no stats')"
        left=$((left - ($(date +%s) - start)))
        round=$((round + 1))
    done
}

if [ "${PARALLEL:-0}" = 1 ]; then
    for h in parse entropy decode; do run "$h" & done
    wait
else
    for h in parse entropy decode; do run "$h"; done
fi
ls -l "$LOG_DIR/artifacts"
