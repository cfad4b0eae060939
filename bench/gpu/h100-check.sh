#!/usr/bin/env bash
# The GPU measurement of issue "GPU workers at full speed", run on the lent H100 machine from a self-contained
# publish of the pipeline CLI (staged with the CUDA libraries beside it). Most important figures first:
# the device time may run out before the end.
set -uo pipefail
P=/tmp/gpu/app/pipeline
log() { echo "== $(date +%T) $*"; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
nproc
log "embeddings alone, fp16, batch auto"; if [ -n "${SKIP_BENCH:-}" ]; then :; else
$P bench embed --device cuda --precision fp16 --batch auto --seconds 6; fi
log "generate ${SCALE:=0.032} of the release at 800 px"
$P synth --out /tmp/c --scale "$SCALE" --max-side 800 | tail -2
log "end to end: pipeline run --device cuda --precision fp16 on all cores"
PIPELINE_PARTITIONS_IN_FLIGHT=3 PIPELINE_PREFETCH=2 $P run --corpus /tmp/c --out /tmp/o --device cuda --precision fp16 \
  --batch 256 --partition-size 1000 --threads "$(nproc)"
log "embeddings alone, fp32, batch 256"
$P bench embed --device cuda --precision fp32 --batch 256 --seconds 4
log "end to end, fp32"
rm -rf /tmp/o
PIPELINE_PARTITIONS_IN_FLIGHT=3 PIPELINE_PREFETCH=2 $P run --corpus /tmp/c --out /tmp/o --device cuda --precision fp32 \
  --batch 256 --partition-size 1000 --threads "$(nproc)"
log "done"
