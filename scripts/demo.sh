#!/usr/bin/env bash
# Quick start, command 1: set up .venv (first run only) and run the demo. It encodes
# samples/seeding.png with the shipped model, decodes it with the reference decoder
# and prints bits per pixel, PSNR and timings; it leaves out/demo.olic and
# out/demo.png. Arguments go to `python -m openlic.demo` (--image, --quality, --out-dir).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
openlic_env train
cd "$ROOT"
exec "$VENV/bin/python" -m openlic.demo "$@"
