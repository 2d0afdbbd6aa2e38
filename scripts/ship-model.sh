#!/usr/bin/env bash
# Ship a new training checkpoint as the model of the package, in one command:
#
#   [MODEL=NAME] bash scripts/ship-model.sh runs/r2/last.pt data/bank/bank-*.npy [runs/r2/log.jsonl]
#
# MODEL names the shipped model to write (default openlic-1, the hyperprior model; a
# model with context networks, WD 8.4.1, would ship under a name of its own, and
# conformance.generate.MODELS would then list it with its cases).
# 1. exports the checkpoint to the normative parameter set refdec/data/$MODEL.olp and
#    the encoder weights encoder/weights/$MODEL.pt (python -m encoder.export,
#    calibrated on the training patch bank given as the second argument);
# 2. keeps the float weights and step as models/$MODEL/train.pt (no optimiser state:
#    the resume point of the next run) and appends the run's training log, if given, to
#    models/$MODEL/log.jsonl;
# 3. regenerates the conformance suite (python -m conformance.generate), whose
#    expected outputs depend on the model;
# 4. for openlic-1 (the encoder's default, which the docs show) redraws the
#    progressive-decoding table and figure
#    (tools/progressive.py on kodim01 of $OPENLIC_KODAK, default /work/shared/data/kodak;
#    skipped with a note where that picture is missing) and, from the model's log, the
#    validation curve (tools/plot_training.py);
# 5. runs the whole test suite, as CI does: besides the tests that tie the model, the
#    suite, refdec and the WD-derived decoder, tests of the encoder and its tools run
#    on the shipped weights and can fail on a new model.
#
# The results page is separate and slow: bash scripts/bench.sh (then commit docs/results*).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
openlic_env train,docs,dev,bench
cd "$ROOT"

if (($# < 2)); then
    sed -n '2,4p' "$0" >&2
    exit 1
fi
ckpt=$1 bank=$2 log=${3-}
model=${MODEL:-openlic-1}
py="$VENV/bin/python"
mkdir -p "models/$model"

echo "== export $ckpt as $model"
"$py" -m encoder.export "$ckpt" "refdec/data/$model.olp" \
    --encoder-out "encoder/weights/$model.pt" --bank "$bank"

echo "== models/$model/train.pt"
"$py" - "$ckpt" "$model" <<'EOF'
import sys, torch
state = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
# The moving average of the weights (what the export quantised) when there is one.
keep = {"config": state["config"], "model": state.get("ema", state["model"]), "step": state["step"]}
torch.save(keep, f"models/{sys.argv[2]}/train.pt")
print(f"step {keep['step']}")
EOF
if [[ -n $log ]]; then
    # Only the records after the last step already in the model's log.
    "$py" - "$log" "$model" <<'EOF'
import json, sys
from pathlib import Path
dst = Path(f"models/{sys.argv[2]}/log.jsonl")
dst.touch()
last = max((json.loads(line)["step"] for line in dst.read_text().splitlines()), default=0)
new = [l for l in Path(sys.argv[1]).read_text().splitlines() if json.loads(l)["step"] > last]
with dst.open("a") as f:
    f.writelines(line + "\n" for line in new)
print(f"{len(new)} log records appended")
EOF
fi

echo "== python -m conformance.generate"
"$py" -m conformance.generate

echo "== figures of the docs"
kodim01="${OPENLIC_KODAK:-/work/shared/data/kodak}/kodim01.png"
if [[ $model != openlic-1 ]]; then
    echo "note: the docs show openlic-1, the encoder's default: figures not redrawn" >&2
elif [[ -f $kodim01 ]]; then
    "$py" tools/progressive.py "$kodim01" --quality 200 --groups 4 \
        --table docs/figures/progressive-table.txt \
        --figure docs/figures/progressive.png --crop 24 0 256 256
else
    echo "note: $kodim01 not found (set OPENLIC_KODAK): docs/progressive.rst not redrawn" >&2
fi
if [[ $model == openlic-1 && -s models/$model/log.jsonl ]]; then
    "$py" tools/plot_training.py "models/$model/log.jsonl" docs/figures/training-validation.png
fi

echo "== the test suite (as CI runs it)"
"$py" -m pytest -q
