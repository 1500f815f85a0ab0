#!/usr/bin/env bash
# Reproduces the README's "Speed" table: the shipped default model (or CKPT) on CPU at
# 1x256^2 and on a 12-MP photo, then, with OLD_CKPT=FILE, the previous default model in the
# same run (the named baseline: compare rows measured together, absolute figures vary a lot
# between machines). Run it on an otherwise idle machine.
#   bash benchmarks/speed_report.sh [CKPT]
#   OLD_CKPT=old.ckpt bash benchmarks/speed_report.sh     # old.ckpt: git show f401499:semcolor/assets/semcolor_default.ckpt
set -euo pipefail
OUT=${OUT:-bench/speed_report}
ckpt=(); [ -n "${1:-}" ] && ckpt=(--ckpt "$1")
semcolor-bench --speed "${ckpt[@]}" --device cpu --speed-batches 1 --speed-fullres 4000x3000 \
    --out "$OUT/default"
if [ -n "${OLD_CKPT:-}" ]; then
    semcolor-bench --speed --ckpt "$OLD_CKPT" --device cpu --speed-batches 1 \
        --speed-fullres 4000x3000 --out "$OUT/old"
fi
