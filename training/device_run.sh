#!/usr/bin/env bash
# One call on a lent GPU machine (docs/training.md, "On a lent GPU machine"): unpack the packed open faces,
# train CONFIG from scratch for MINUTES of wall-clock time, export the averaged weights, and leave in $OUT
# what the device tool brings back (at most 8 files of 16 MiB): the weights (cut into 15 MiB parts when
# larger; join them with `cat model.safetensors.part-* > model.safetensors`), the card, the log, the
# schedule, the training output and the last sample grid. The run's state stays behind: it is too large
# to bring back, so a GPU run is one call.
#
#   bash training/device_run.sh CONFIG MINUTES [--set KEY=VALUE ...]      (DEVICE=cpu to try it here)
set -euo pipefail
config=$1 minutes=$2
shift 2
: "${OUT:?run this through the device tool, which sets OUT (or set OUT to a folder to try it here)}"
export PYTHONUNBUFFERED=1
pack=${PACK:-data-cache/pack/faces.npz}
work=$(mktemp -d)
python3 -m training unpack "$pack" --out "$work/faces"
python3 -m training train "$config" --device "${DEVICE:-cuda}" --minutes "$minutes" --run-dir "$work/run" --fresh \
    --set data.cache="$work/faces/cache" --set data.folder="$work/faces/source" \
    --set masks.nvidia_cache="$work/faces/masks-nvidia.npz" "$@" >"$OUT/train-output.txt" 2>&1 \
    || { tail -c 3000 "$OUT/train-output.txt"; exit 1; }
python3 -m training export "$work/run" --out "$work/export"
cp "$work/run/log.csv" "$work/run/history.jsonl" "$work/export/model_card.json" "$OUT/"
last_sample=$(ls "$work/run/samples/"*.png 2>/dev/null | tail -n 1 || true)
if [ -n "$last_sample" ]; then cp "$last_sample" "$OUT/last-sample.png"; fi
weights="$work/export/model.safetensors"
part_bytes=${PART_BYTES:-$((15 * 1024 * 1024))}
if [ "$(stat -c %s "$weights")" -gt "$part_bytes" ]; then
    split -b "$part_bytes" -d "$weights" "$OUT/model.safetensors.part-"
    parts=$(ls "$OUT"/model.safetensors.part-* | wc -l)
    if [ "$parts" -gt 3 ]; then
        echo "warning: the weights took $parts parts; the device tool brings back 8 files, 5 of them not weights," \
             "so some parts will be left out: train a narrower network (--set width=...)" >&2
    fi
else
    cp "$weights" "$OUT/"
fi
tail -n 3 "$OUT/log.csv"
ls -l "$OUT"
