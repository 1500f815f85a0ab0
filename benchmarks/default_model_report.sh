#!/usr/bin/env bash
# Reproduces the default model's figures in the README and docs/default_model.md: calibrates
# the temperature on imagen1k/val (a split for choosing), writes the slim packaged checkpoint,
# then benches it against the gray baseline on the report splits, times it, and checks it
# against the targets (benchmarks/default_model_targets.py: $OUT/targets.md) and prints the
# README's table (benchmarks/default_model_tables.py: $OUT/readme_table.md).
#   bash benchmarks/default_model_report.sh RUN/checkpoints/stepNNNNNNN.ckpt [DATA]
# CKPT is the training checkpoint chosen on imagen1k/val, before any report split is benched:
# `python benchmarks/val_curve.py RUN` names the validation step with the best regression PSNR
# (the shipped model: step 7,000 of its run). The sheets go to docs/images/ (run from the repo).
# OLD_CKPT=old.ckpt also benches a previous model on the same splits, e.g.
#   git show a2a08d7:semcolor/assets/semcolor_default.ckpt > old.ckpt
set -euo pipefail
CKPT=${1:?usage: default_model_report.sh CKPT [DATA_ROOT]}
DATA=${2:-../shared/data}
OUT=${OUT:-bench/default_model}
mkdir -p "$OUT"
semcolor-calibrate --ckpt "$CKPT" --root "$DATA/imagen1k/val" --out "$OUT/calibrated.ckpt" \
    --force --no-progress | tee "$OUT/calibration.txt"
python -c "import sys; from semcolor.inference import save_slim_checkpoint as s; \
s(sys.argv[1], sys.argv[2])" "$OUT/calibrated.ckpt" "$OUT/semcolor_default.ckpt"
for split in imagen1k/test bsds500/test kodak24; do
    extra=(); [ "$split" = kodak24 ] && extra=(--full-res)
    semcolor-bench --dataset folder --root "$DATA/$split" --ckpt "$OUT/semcolor_default.ckpt" "${extra[@]}" \
        --out "$OUT/${split//\//_}" --no-progress --sheet-rows 6
done
# The previous default model (from git), on the same splits, as the named baseline.
if [ -n "${OLD_CKPT:-}" ]; then
    for split in imagen1k/test bsds500/test; do
        semcolor-bench --dataset folder --root "$DATA/$split" --ckpt "$OLD_CKPT" \
            --out "$OUT/old_${split//\//_}" --no-progress --sheet-rows 0
    done
fi
semcolor-bench --speed --ckpt "$OUT/semcolor_default.ckpt" --device cpu --out "$OUT/speed" \
    --speed-batches 1,8 --speed-fullres 4000x3000 --no-progress
ls -l "$OUT/semcolor_default.ckpt"
# The targets (issue 22): gains over gray, colourfulness, cast, and colorize's latency against
# the previous model in this run (OLD_CKPT), or against the packaged default model.
python benchmarks/default_model_targets.py --bench "$OUT" --ckpt "$OUT/semcolor_default.ckpt" \
    --baseline-ckpt "${OLD_CKPT:-semcolor/assets/semcolor_default.ckpt}" --out "$OUT/targets"
# The README's quality table (per split: gray, each decoding with its paired gain over gray,
# the previous model's line when OLD_CKPT was given): $OUT/readme_table.md.
python benchmarks/default_model_tables.py --bench "$OUT" --out "$OUT/readme_table.md"
# The README's sheets: the bench's sheet.png of Kodak24 and BSDS500 test, scaled to 60%.
python - "$OUT" <<'PY'
import sys
from PIL import Image
out = sys.argv[1]
for split, name in (("kodak24", "default_model_kodak24.png"),
                    ("bsds500_test", "default_model_bsds500_test.png")):
    im = Image.open(f"{out}/{split}/sheet.png")
    im.resize((im.width * 3 // 5, im.height * 3 // 5), Image.Resampling.LANCZOS).save(
        f"docs/images/{name}", optimize=True)
PY
