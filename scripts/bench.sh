#!/usr/bin/env bash
# Regenerate the results page of the documentation (docs/results.rst, with its data and
# figures in docs/results/) in one command: set up .venv with the train and bench
# extras, then run `openlic bench all` (rate-distortion against the codecs installed
# here, the visual comparison, speed, the page). Codecs that are not installed are
# skipped with a message; for all of them (Debian):
#   apt-get install -y ffmpeg libjxl-tools
# which this script runs itself when it runs as root with apt-get (a fresh machine would
# otherwise drop HEVC and JPEG XL from the page without anyone asking for it).
#
#   bash scripts/bench.sh                       # the 24 Kodak pictures
#   bash scripts/bench.sh --images DIR --limit 3
#
# Arguments go to `openlic bench all` (see `openlic bench all --help`); the default
# picture folder is $OPENLIC_KODAK or /work/shared/data/kodak. Results are cached in
# out/bench-cache, so an interrupted run resumes. Run it on an otherwise idle machine:
# the page states the machine and its load.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
openlic_env train,bench
cd "$ROOT"
args=("$@")
case " ${args[*]-} " in
*" --images "*) ;;
*) args=(--images "${OPENLIC_KODAK:-/work/shared/data/kodak}" "${args[@]}") ;;
esac
# (command -v with several names succeeds when any one is found: test each)
if { ! command -v ffmpeg || ! command -v cjxl; } >/dev/null 2>&1 && [ "$(id -u)" = 0 ] &&
    command -v apt-get >/dev/null 2>&1; then
    echo "bench.sh: installing ffmpeg and libjxl-tools with apt-get" >&2
    { apt-get update -qq && apt-get install -y -qq ffmpeg libjxl-tools; } >&2 || true
fi
for tool in ffmpeg cjxl; do
    command -v "$tool" >/dev/null 2>&1 ||
        echo "note: $tool not found; install with: apt-get install -y ffmpeg libjxl-tools" >&2
done
exec "$VENV/bin/openlic" bench all "${args[@]}"
