#!/usr/bin/env bash
# Issue "one streaming pipeline per node", GPU part: at least 200,000 generated 800 px JPEGs through
# `pipeline run --device cuda --precision fp16` on the 16-core node, planning and merge included, with the stage
# figures; goal >= 5,600 images/s. Runs on the lent GPU machine from a self-contained publish staged with
# the CUDA staging step (src/Pipeline.Cli/Pipeline.Cli.csproj); with the last piece:
#   source .gpu_pN/unpack.sh && bash bench/gpu/stream-check.sh > $OUT/log 2>&1; tail -60 $OUT/log
# Most important figures first: the device time may run out before the end. Not run yet (no device lent when it
# was written): its figures go to bench/RESULTS.md when a session has the device.
set -uo pipefail
P=${PIPELINE:-/tmp/gpu/app/pipeline}
SCALE=${SCALE:-0.2963}   # 200,000 of the release's 675,170 train+val images
CORES=$(nproc)
log() { echo "== $(date +%T) $*"; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "cores: $CORES"

log "generate $SCALE of the release at 800 px (about 200,000 train+val JPEGs)"
start=$(date +%s)
$P synth --out /tmp/c --scale "$SCALE" --max-side 800 --threads "$CORES" | tail -2
log "synth took $(( $(date +%s) - start )) s"

# first start on this machine measures the CUDA batch size and caches it beside the prepared model; a second start
# reads it back (the figure below is the whole process, start-up to shutdown)
for run in 1 2; do
  rm -rf /tmp/o
  log "end to end $run: pipeline run --device cuda --precision fp16, $CORES cores"
  start=$(date +%s.%N)
  $P run --corpus /tmp/c --out /tmp/o --device cuda --precision fp16 --partition-size 1000 --threads "$CORES"
  end=$(date +%s.%N)
  log "run $run: whole process $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s (images: the summary above)"
  ls "${TMPDIR:-/tmp}"/pipeline-model-cache/*.batch 2>/dev/null | sed 's/^/cached batch size: /'
done
log "embeddings alone, fp16, for scale"
$P bench embed --device cuda --precision fp16 --batch auto --seconds 4
log "done"
