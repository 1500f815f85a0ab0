#!/usr/bin/env bash
# Reproduces the README's training-speed figures ("Training speed"):
# 1. bench_train.py --precision --curve: the default recipe's network in fp32, bf16-mixed,
#    channels_last and both (synthetic batches), with 150-step loss curves against fp32;
# 2. bench_train.py --e2e: semcolor-train's real loop on the default recipe's data against
#    the pure step, interleaved; its table replaces the README's bench_train_e2e block.
# The data: DATA (the shared datasets), PHOTOS and LABELS (semcolor-prepare-photos and
# semcolor-label-scenes outputs; default $DATA/photo_sets, $DATA/scene_labels). Run it on an
# otherwise idle machine (the lock is shared with the other benchmarks).
#   DATA=../shared/data PHOTOS=~/photo_sets LABELS=~/scene_labels bash benchmarks/train_speed_report.sh
set -euo pipefail
: "${DATA:?set DATA to the datasets folder}"
PHOTOS=${PHOTOS:-$DATA/photo_sets}
LABELS=${LABELS:-$DATA/scene_labels}
OUT=${OUT:-bench/train_speed}
LOCK=${LOCK:-/tmp/semcolor_bench.lock}
PY=${PYTHON:-python}
mkdir -p "$OUT"
grep -o -E 'avx512_bf16|amx_bf16|avx2' /proc/cpuinfo | sort | uniq -c | tee "$OUT/cpu_flags.txt" || true
flock "$LOCK" "$PY" benchmarks/bench_train.py --precision --size 128 --batch 16 --steps 10 --curve 150 \
    | tee "$OUT/precision.txt"
flock "$LOCK" "$PY" benchmarks/bench_train.py --e2e --steps 20 --rounds 5 --warmup 10 \
    --markdown "$OUT/e2e.md" --update-readme README.md -- +experiment=default_model \
    paths.data_root="$DATA" data.photos_root="$PHOTOS" data.labels_root="$LABELS" \
    | tee "$OUT/e2e.txt"
