#!/usr/bin/env bash
# Side by side, in one run, on the same photo-derived corpus and the same cores (bench/RESULTS.md):
#   1. the decoder's own limit (the pipeline's decoder on the files from memory, one thread per core, nothing else)
#   2. OpenCV (Debian's python3-opencv, reduced-size decode, resize, centre crop; one process per core)
#   3. `pipeline bench partitions --model none` (the node pipeline alone: plan, then every partition)
#   4. `pipeline run --model none`, timed as a whole process (start-up, cluster, planning, merge, shutdown)
# Contenders take turns, round after round, so that each sees the same background load; the best round of each counts.
#
# usage: bench/cpu-compare.sh [IMAGES (3000)] [ROUNDS (2)]
#   needs: apt-get install -y plasma-workspace-wallpapers mate-backgrounds python3-opencv; a Release build
#   (dotnet build Pipeline.sln -c Release). Work files go to $BENCH_WORK (default /tmp/pipeline-cpu-compare).
set -euo pipefail
IMAGES=${1:-3000}
ROUNDS=${2:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_WORK:-/tmp/pipeline-cpu-compare}
PIPELINE="$ROOT/src/Pipeline.Cli/bin/Release/net10.0/pipeline"
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

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $CORES cores, $(free -g | awk '/Mem:/ {print $2}') GB; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
limit=0; opencv=0; processor=0; run=0; run_job=0
# images per CPU-second of each contender (best round): on a shared machine steadier than the wall clock
climit=0; copencv=0; cprocessor=0; crun=0
cpu_of() { awk '{ printf "%.0f", n / ($1 + $2) }' n="$1" "$2"; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > a ? b : a) }'; }
for round in $(seq 1 "$ROUNDS"); do
  dotnet "$BENCH_DLL" decode-limit "$CORPUS" "$CORES" 1 > "$WORK/limit.log"
  r=$(sed -n 's/^decode-limit: \([0-9]*\) images.*/\1/p' "$WORK/limit.log")
  c=$(sed -n 's/^cpu time: .* = \([0-9]*\) images per CPU-second/\1/p' "$WORK/limit.log")
  limit=$(best "$limit" "$r"); climit=$(best "$climit" "$c"); echo "round $round: decoder limit $r images/s, $c per CPU-second"

  /usr/bin/time -f "%U %S" -o "$WORK/opencv.time" /usr/bin/python3 "$ROOT/bench/opencv_decode.py" "$CORPUS" "$CORES" 1 > "$WORK/opencv.log"
  r=$(sed -n 's/^opencv: \([0-9]*\) images.*/\1/p' "$WORK/opencv.log")
  n=$(sed -n 's/^opencv: [0-9]* images\/s (\([0-9]*\) images.*/\1/p' "$WORK/opencv.log")
  c=$(cpu_of "$n" "$WORK/opencv.time")  # the whole process: start-up and the short warm-up included
  opencv=$(best "$opencv" "$r"); copencv=$(best "$copencv" "$c"); echo "round $round: opencv $r images/s, $c per CPU-second"

  rm -rf "$WORK/bench-out"
  line=$("$PIPELINE" bench partitions --corpus "$CORPUS" --out "$WORK/bench-out" --model none | tee "$WORK/bench-partitions.log" | grep 'partition processor alone')
  r=$(echo "$line" | sed -n 's/.*= \([0-9,]*\) images\/s.*/\1/p' | tr -d ,)
  c=$(sed -n 's/^cpu time while processing: .* = \([0-9,]*\) images per CPU-second/\1/p' "$WORK/bench-partitions.log" | tr -d ,)
  processor=$(best "$processor" "$r"); cprocessor=$(best "$cprocessor" "$c"); echo "round $round: pipeline bench partitions $r images/s, $c per CPU-second"

  rm -rf "$WORK/run-out"
  start=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$WORK/run.time" "$PIPELINE" run --corpus "$CORPUS" --out "$WORK/run-out" --model none > "$WORK/run.log" 2>&1
  end=$(date +%s.%N)
  total=$(awk '/images/ && /│/ { gsub(/[│ ,]/, ""); sub(/images/, ""); print; exit }' "$WORK/run.log")
  r=$(awk -v n="$total" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }')
  j=$(sed -n 's/.*throughput *│ *\([0-9,]*\) images\/s.*/\1/p' "$WORK/run.log" | tr -d ,)
  c=$(cpu_of "$total" "$WORK/run.time")
  run=$(best "$run" "$r"); run_job=$(best "$run_job" "$j"); crun=$(best "$crun" "$c")
  echo "round $round: pipeline run $r images/s as a whole process ($total images, $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s; the job's own clock: $j images/s; $c per CPU-second)"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "stages of the last bench partitions run:"; sed -n '/pipeline stages:/,$p' "$WORK/bench-partitions.log" | tail -n +2
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
cat <<TABLE

| contender ($IMAGES photo-derived 800 px JPEGs, $CORES cores) | images/s | vs decoder limit | vs OpenCV |
| --- | ---: | ---: | ---: |
| decoder's own limit (same decoder, files from memory, $CORES threads) | $limit | 1.00 | $(ratio "$limit" "$opencv") |
| OpenCV reduced-size decode, $CORES processes | $opencv | $(ratio "$opencv" "$limit") | 1.00 |
| \`pipeline bench partitions --model none\` | $processor | $(ratio "$processor" "$limit") | $(ratio "$processor" "$opencv") |
| \`pipeline run --model none\`, whole process | $run | $(ratio "$run" "$limit") | $(ratio "$run" "$opencv") |

pipeline run / processor: $(ratio "$run" "$processor") (the job's own clock: $run_job images/s)

CPU time (images per CPU-second, best round; x$CORES for the images/s of $CORES idle cores):

| contender | images / CPU-s | vs decoder limit | vs OpenCV |
| --- | ---: | ---: | ---: |
| decoder's own limit | $climit | 1.00 | $(ratio "$climit" "$copencv") |
| OpenCV (whole process) | $copencv | $(ratio "$copencv" "$climit") | 1.00 |
| \`pipeline bench partitions --model none\` (while processing) | $cprocessor | $(ratio "$cprocessor" "$climit") | $(ratio "$cprocessor" "$copencv") |
| \`pipeline run --model none\` (whole process) | $crun | $(ratio "$crun" "$climit") | $(ratio "$crun" "$copencv") |

pipeline run / processor, CPU time: $(ratio "$crun" "$cprocessor")
TABLE
