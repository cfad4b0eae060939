#!/usr/bin/env bash
# CI: builds the CPU image from docker/Dockerfile.cpu with podman and runs the container tests against it
# (tests/Pipeline.Tests/Containers: a coordinator and two workers as containers, a job through the API, a worker stopped
# with SIGTERM mid-job; the report's fonts; the non-root user). docs/containers.md explains each step.
# Needs root. Fails loudly, never skips, when this machine cannot build or run containers.
#   PIPELINE_BASE_IMAGES=auto|registry|local  where the Dockerfile's base images come from (auto: the registry when it
#                                             answers, else stand-ins made with mmdebstrap by docker/local-base-images.sh)
#   PIPELINE_IMAGE=localhost/pipeline:ci      the tag built and tested
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
started=$(date +%s)
say() { echo "containers: $* ($(( $(date +%s) - started )) s)"; }
fail() { echo "containers: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (rootful podman, mmdebstrap)"

# 1. podman, runc and mmdebstrap from Debian
missing=()
for tool in podman runc mmdebstrap; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc mmdebstrap >/dev/null
fi

# 2. podman settings: runc and resource limits a sandboxed machine allows (docker/podman/containers.conf)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/docker/podman/containers.conf}
podman info >/dev/null 2>&1 || fail "podman cannot run here: $(podman info 2>&1 | tail -n 3)"

# 3. base images: the registry's, or local stand-ins when no registry answers
sdk_image=mcr.microsoft.com/dotnet/sdk:10.0-noble
runtime_image=mcr.microsoft.com/dotnet/runtime-deps:10.0-noble
mode=${PIPELINE_BASE_IMAGES:-auto}
if [ "$mode" != local ]; then
  if timeout 600 podman pull -q "$sdk_image" >/dev/null 2>&1 && timeout 600 podman pull -q "$runtime_image" >/dev/null 2>&1; then
    mode=registry
  elif [ "$mode" = registry ]; then
    fail "PIPELINE_BASE_IMAGES=registry but $sdk_image or $runtime_image cannot be pulled"
  else
    mode=local
  fi
fi
if [ "$mode" = local ]; then
  say "no container registry answers: making local base images with mmdebstrap"
  docker/local-base-images.sh
  sdk_image=localhost/pipeline-base/sdk:10.0
  runtime_image=localhost/pipeline-base/runtime-deps:10.0
else
  say "base images from the registry"
fi
# a container that cannot start fails here, before the long build
podman run --rm "$runtime_image" true || fail "containers cannot start on this machine (podman's message above; docs/containers.md)"

# 4. the image, from the unmodified Dockerfile. The build reuses this machine's NuGet package folder (a cache: the
# Dockerfile restores the same packages without it) and, for NuGet over HTTPS, this machine's CA bundle.
image=${PIPELINE_IMAGE:-localhost/pipeline:ci}
volumes=()
nuget=${NUGET_PACKAGES:-$HOME/.nuget/packages}
[ -d "$nuget" ] && volumes+=(-v "$nuget:/root/.nuget/packages")
[ -f /etc/ssl/certs/ca-certificates.crt ] && volumes+=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
results=TestResults/containers
rm -rf "$results" && mkdir -p "$results"
say "building $image from docker/Dockerfile.cpu (log: $results/build.log)"
if ! podman build --ignorefile docker/Dockerfile.cpu.dockerignore -f docker/Dockerfile.cpu \
       --build-arg SDK_IMAGE="$sdk_image" --build-arg RUNTIME_IMAGE="$runtime_image" "${volumes[@]}" -t "$image" . \
       >"$results/build.log" 2>&1; then
  grep -v 'level=warning msg="archive: skipping' "$results/build.log" | tail -n 40 >&2
  fail "the build of $image from docker/Dockerfile.cpu failed"
fi
# the untagged intermediate images are the build cache: keep the last few days of it, no more
podman image prune -f --filter until=72h >/dev/null 2>&1 || true
say "built $image ($(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"

# 5. the container tests, against that image; every one must run and pass (a skip here is a failure)
status=0
PIPELINE_CONTAINER_IMAGE=$image dotnet test tests/Pipeline.Tests -c Release --filter "Category=Containers" \
  --logger "trx;LogFileName=containers.trx" --logger "console;verbosity=normal" --results-directory "$results" || status=$?
trx="$results/containers.trx"
[ -f "$trx" ] || fail "the container tests did not run (no $trx)"
counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n1)
count() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
total=$(count total) passed=$(count passed)
say "container tests: ${passed:-0} of ${total:-0} passed"
[ "$status" = 0 ] && [ "${total:-0}" -ge 3 ] && [ "${passed:-0}" = "${total:-0}" ] || fail "container tests: ${passed:-0} of ${total:-0} passed"
