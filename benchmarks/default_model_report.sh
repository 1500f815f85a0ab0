#!/usr/bin/env bash
# Reproduces the default model's figures in the README and docs/default_model.md: calibrates
# the temperature on imagen1k/val (a split for choosing), writes the slim packaged checkpoint,
# then benches it against the gray baseline on the report splits and times it.
#   bash benchmarks/default_model_report.sh runs/default_model/checkpoints/last.ckpt [DATA]
set -euo pipefail
CKPT=${1:?usage: default_model_report.sh LAST_CKPT [DATA_ROOT]}
DATA=${2:-../shared/data}
OUT=${OUT:-bench/default_model}
mkdir -p "$OUT"
semcolor-calibrate --ckpt "$CKPT" --root "$DATA/imagen1k/val" --out "$OUT/calibrated.ckpt" \
    --force --no-progress | tee "$OUT/calibration.txt"
python -c "import sys; from semcolor.inference import save_slim_checkpoint as s; \
s(sys.argv[1], sys.argv[2])" "$OUT/calibrated.ckpt" "$OUT/semcolor_default.ckpt"
for split in imagen1k/test bsds500/test kodak24; do
    semcolor-bench --dataset folder --root "$DATA/$split" --ckpt "$OUT/semcolor_default.ckpt" \
        --out "$OUT/${split//\//_}" --no-progress --sheet-rows 6
done
semcolor-bench --speed --ckpt "$OUT/semcolor_default.ckpt" --device cpu --out "$OUT/speed" \
    --speed-batches 1,8 --speed-fullres 4000x3000 --no-progress
ls -l "$OUT/semcolor_default.ckpt"
