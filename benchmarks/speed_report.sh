#!/usr/bin/env bash
# Reproduces the README's speed figures.
# 1. The table of every inference figure (bench_inference.py: ms/image, GFLOP/image and
#    GFLOP/s per decoding, batch, backend and precision, the ECCV16 forward and the FP32
#    torch.mm roofline), written into the README between its bench_inference markers.
# 2. End to end (bench_colorize.py): a 24-MP photo (median, spread, peak RSS) and Colorizer
#    throughput at 256^2 per batch size.
# 3. The older semcolor-bench --speed rows: the shipped default model (or CKPT) at 1x256^2
#    and on a 12-MP photo, then, with OLD_CKPT=FILE, the previous default model.
# Run it on an otherwise idle machine; the timings take a lock shared with the other
# benchmarks (/tmp/semcolor_bench.lock) so that they never overlap.
#   bash benchmarks/speed_report.sh [CKPT]
#   OLD_CKPT=old.ckpt bash benchmarks/speed_report.sh     # old.ckpt: git show a2a08d7:semcolor/assets/semcolor_default.ckpt
set -euo pipefail
OUT=${OUT:-bench/speed_report}
LOCK=${LOCK:-/tmp/semcolor_bench.lock}
PY=${PYTHON:-python}
mkdir -p "$OUT"
flock "$LOCK" "$PY" benchmarks/bench_inference.py --threads 2 --batches 1 4 8 --repeats 5 \
    --warmup 1 --markdown "$OUT/bench_inference.md" --update-readme README.md
flock "$LOCK" "$PY" benchmarks/bench_colorize.py --threads 2 --repeats 7 --images 32 \
    --batches 1 8 32 | tee "$OUT/bench_colorize.txt"
ckpt=(); [ -n "${1:-}" ] && ckpt=(--ckpt "$1")
flock "$LOCK" semcolor-bench --speed "${ckpt[@]}" --device cpu --speed-batches 1 \
    --speed-fullres 4000x3000 --out "$OUT/default"
if [ -n "${OLD_CKPT:-}" ]; then
    flock "$LOCK" semcolor-bench --speed --ckpt "$OLD_CKPT" --device cpu --speed-batches 1 \
        --speed-fullres 4000x3000 --out "$OUT/old"
fi
