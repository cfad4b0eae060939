#!/usr/bin/env bash
# Side by side, in one run, on the same photo-derived corpus and the same cores (bench/RESULTS.md):
#   1. the decoder's own limit (the pipeline's decoder on the files from memory, one thread per core, nothing else)
#   2. OpenCV (Debian's python3-opencv, reduced-size decode, resize, centre crop; one process per core)
#   3. `pipeline bench partitions --model none` (the node pipeline alone: plan, then every partition)
#   4. `pipeline run --model none`, timed as a whole process (start-up, cluster, planning, merge, shutdown)
# With --model: the model on the CPU instead, end to end against the model alone on the same cores:
#   1. `pipeline bench embed --device cpu --batch 16` (ResNet-18 alone, crops from memory, every core)
#   2. `pipeline run` (ResNet-18 on the CPU), timed as a whole process
# Contenders take turns, round after round, so that each sees the same background load. Each figure is the median of
# the rounds, with the load average sampled every second while that contender ran (mean, min-max).
#
# usage: bench/cpu-compare.sh [--model] [IMAGES (3000)] [ROUNDS (2)]
#   needs: apt-get install -y plasma-workspace-wallpapers mate-backgrounds python3-opencv; a Release build
#   (dotnet build Pipeline.sln -c Release). Work files go to $BENCH_WORK (default /tmp/pipeline-cpu-compare).
set -euo pipefail
MODEL=0
if [ "${1:-}" = "--model" ]; then MODEL=1; shift; fi
IMAGES=${1:-3000}
ROUNDS=${2:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_WORK:-/tmp/pipeline-cpu-compare}
# PIPELINE_BIN: another build of `pipeline` to time, e.g. the ReadyToRun publish the images ship
# (dotnet publish src/Pipeline.Cli -c Release -r linux-x64 --self-contained -o /tmp/pipeline-r2r)
PIPELINE=${PIPELINE_BIN:-"$ROOT/src/Pipeline.Cli/bin/Release/net10.0/pipeline"}
BENCH_DLL="$ROOT/bench/Pipeline.Bench/bin/Release/net10.0/Pipeline.Bench.dll"
CORES=$(nproc)
CORPUS="$WORK/corpus-$IMAGES"
[ -x "$PIPELINE" ] || { echo "build first: dotnet build Pipeline.sln -c Release" >&2; exit 1; }
[ -f "$BENCH_DLL" ] || dotnet build "$ROOT/bench/Pipeline.Bench/Pipeline.Bench.csproj" -c Release -v q >/dev/null

mkdir -p "$WORK"
if [ ! -f "$CORPUS/.photos" ]; then
  rm -rf "$CORPUS"
  # train + val of the release is 675,170 images: this scale gives about IMAGES of them
  SCALE=$(awk -v n="$IMAGES" 'BEGIN { printf "%.6f", n / 675170 }')
  "$PIPELINE" synth --out "$CORPUS" --scale "$SCALE" --no-images >/dev/null
  /usr/bin/python3 "$ROOT/bench/photo_corpus.py" "$CORPUS"
  touch "$CORPUS/.photos"
fi

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $CORES cores, $(free -g | awk '/Mem:/ {print $2}') GB; $(date -u '+%F %H:%M UTC'); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- helpers ----
declare -A FIG   # FIG[name] = "v1 v2 ..." per round
LOADS=""
sampler=""
start_load() { LOADS="$WORK/load.$1"; : > "$LOADS"; ( while :; do cut -d' ' -f1 /proc/loadavg >> "$LOADS"; sleep 1; done ) & sampler=$!; }
stop_load() { kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true; cat "$LOADS" >> "$WORK/load-all.$1"; }
record() { FIG[$1]="${FIG[$1]:-} $2"; }
median() { echo "$1" | tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
load_of() { [ -s "$WORK/load-all.$1" ] && awk '{ s += $1; if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1 } END { printf "%.0f (%.0f-%.0f)", s / NR, min, max }' "$WORK/load-all.$1" || echo "-"; }
cpu_of() { awk '{ printf "%.0f", n / ($1 + $2) }' n="$1" "$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
rm -f "$WORK"/load-all.*

# `pipeline run`, timed as a whole process: sets r (images/s), j (the job's own clock), c (images per CPU-second)
timed_run() {
  rm -rf "$WORK/run-out"
  local start end total
  start=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$WORK/run.time" "$PIPELINE" run --corpus "$CORPUS" --out "$WORK/run-out" "$@" > "$WORK/run.log" 2>&1
  end=$(date +%s.%N)
  total=$(awk '/images/ && /│/ { gsub(/[│ ,]/, ""); sub(/images/, ""); print; exit }' "$WORK/run.log")
  r=$(awk -v n="$total" -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", n / (b - a) }')
  j=$(sed -n 's/.*throughput *│ *\([0-9,]*\) images\/s.*/\1/p' "$WORK/run.log" | tr -d ,)
  c=$(cpu_of "$total" "$WORK/run.time")
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  n=$total
}

if [ "$MODEL" = 1 ]; then
  for round in $(seq 1 "$ROUNDS"); do
    start_load embed
    "$PIPELINE" bench embed --device cpu --batch 16 --seconds 30 > "$WORK/embed.log" 2>&1
    stop_load embed
    r=$(tr -d '\n' < "$WORK/embed.log" | sed -n 's/.*sessions=[0-9]*: *\([0-9.,]*\) *images\/s.*/\1/p' | tr -d ,)
    record embed "$r"; echo "round $round: pipeline bench embed (cpu, batch 16, $CORES intra-op threads) $r images/s"

    start_load run; timed_run; stop_load run
    record run "$r"; record run_job "$j"; record run_cpu "$c"
    echo "round $round: pipeline run (resnet18 on the cpu) $r images/s as a whole process ($n images, $secs s; the job's own clock: $j images/s; $c per CPU-second)"
  done
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  sed -n '/^embedding on/,$p' "$WORK/run.log"
  embed=$(median "${FIG[embed]}"); run=$(median "${FIG[run]}"); job=$(median "${FIG[run_job]}")
  cat <<TABLE

| contender ($IMAGES photo-derived 800 px JPEGs, ResNet-18 fp32 on the CPU, $CORES cores; median of $ROUNDS) | images/s | load average during |
| --- | ---: | --- |
| \`pipeline bench embed --device cpu --batch 16\` (model alone) | $embed | $(load_of embed) |
| \`pipeline run\`, whole process | $run | $(load_of run) |

end to end / model alone: $(ratio "$run" "$embed") (the job's own clock: $job images/s, $(ratio "$job" "$embed"))
TABLE
  exit 0
fi

for round in $(seq 1 "$ROUNDS"); do
  start_load limit
  dotnet "$BENCH_DLL" decode-limit "$CORPUS" "$CORES" 1 > "$WORK/limit.log"
  stop_load limit
  r=$(sed -n 's/^decode-limit: \([0-9]*\) images.*/\1/p' "$WORK/limit.log")
  c=$(sed -n 's/^cpu time: .* = \([0-9]*\) images per CPU-second/\1/p' "$WORK/limit.log")
  record limit "$r"; record limit_cpu "$c"; echo "round $round: decoder limit $r images/s, $c per CPU-second"

  start_load opencv
  /usr/bin/time -f "%U %S" -o "$WORK/opencv.time" /usr/bin/python3 "$ROOT/bench/opencv_decode.py" "$CORPUS" "$CORES" 1 > "$WORK/opencv.log"
  stop_load opencv
  r=$(sed -n 's/^opencv: \([0-9]*\) images.*/\1/p' "$WORK/opencv.log")
  n=$(sed -n 's/^opencv: [0-9]* images\/s (\([0-9]*\) images.*/\1/p' "$WORK/opencv.log")
  c=$(cpu_of "$n" "$WORK/opencv.time")  # the whole process: start-up and the short warm-up included
  record opencv "$r"; record opencv_cpu "$c"; echo "round $round: opencv $r images/s, $c per CPU-second"

  rm -rf "$WORK/bench-out"
  start_load processor
  line=$("$PIPELINE" bench partitions --corpus "$CORPUS" --out "$WORK/bench-out" --model none | tee "$WORK/bench-partitions.log" | grep 'partition processor alone')
  stop_load processor
  r=$(echo "$line" | sed -n 's/.*= \([0-9,]*\) images\/s.*/\1/p' | tr -d ,)
  c=$(sed -n 's/^cpu time while processing: .* = \([0-9,]*\) images per CPU-second/\1/p' "$WORK/bench-partitions.log" | tr -d ,)
  record processor "$r"; record processor_cpu "$c"; echo "round $round: pipeline bench partitions $r images/s, $c per CPU-second"

  start_load run; timed_run --model none; stop_load run
  record run "$r"; record run_job "$j"; record run_cpu "$c"
  echo "round $round: pipeline run $r images/s as a whole process ($n images, $secs s; the job's own clock: $j images/s; $c per CPU-second)"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "stages of the last bench partitions run:"; sed -n '/pipeline stages:/,$p' "$WORK/bench-partitions.log" | tail -n +2
limit=$(median "${FIG[limit]}"); opencv=$(median "${FIG[opencv]}"); processor=$(median "${FIG[processor]}"); run=$(median "${FIG[run]}")
climit=$(median "${FIG[limit_cpu]}"); copencv=$(median "${FIG[opencv_cpu]}"); cprocessor=$(median "${FIG[processor_cpu]}"); crun=$(median "${FIG[run_cpu]}")
run_job=$(median "${FIG[run_job]}")
cat <<TABLE

Median of $ROUNDS rounds (per round: limit${FIG[limit]}; opencv${FIG[opencv]}; processor${FIG[processor]}; run${FIG[run]} images/s)

| contender ($IMAGES photo-derived 800 px JPEGs, $CORES cores) | images/s | vs decoder limit | vs OpenCV | load average during |
| --- | ---: | ---: | ---: | --- |
| decoder's own limit (same decoder, files from memory, $CORES threads) | $limit | 1.00 | $(ratio "$limit" "$opencv") | $(load_of limit) |
| OpenCV reduced-size decode, $CORES processes | $opencv | $(ratio "$opencv" "$limit") | 1.00 | $(load_of opencv) |
| \`pipeline bench partitions --model none\` | $processor | $(ratio "$processor" "$limit") | $(ratio "$processor" "$opencv") | $(load_of processor) |
| \`pipeline run --model none\`, whole process | $run | $(ratio "$run" "$limit") | $(ratio "$run" "$opencv") | $(load_of run) |

pipeline run / processor: $(ratio "$run" "$processor") (the job's own clock: $run_job images/s)

CPU time (images per CPU-second, median; x$CORES for the images/s of $CORES idle cores):

| contender | images / CPU-s | vs decoder limit | vs OpenCV |
| --- | ---: | ---: | ---: |
| decoder's own limit | $climit | 1.00 | $(ratio "$climit" "$copencv") |
| OpenCV (whole process) | $copencv | $(ratio "$copencv" "$climit") | 1.00 |
| \`pipeline bench partitions --model none\` (while processing) | $cprocessor | $(ratio "$cprocessor" "$climit") | $(ratio "$cprocessor" "$copencv") |
| \`pipeline run --model none\` (whole process) | $crun | $(ratio "$crun" "$climit") | $(ratio "$crun" "$copencv") |

pipeline run / processor, CPU time: $(ratio "$crun" "$cprocessor")
TABLE
