#!/usr/bin/env bash
# README's test command on a fresh machine. A clean clone of this checkout's HEAD runs `./test.sh` in a container made
# of Debian 12 and nothing else it needs: the SDK stand-in of docker/local-base-images.sh (mmdebstrap minbase, ICU and
# this machine's .NET SDK) plus this machine's Node.js, so test.sh has to install everything else itself (Chromium,
# Python's torch, git, the npm packages) and NuGet starts empty. Not part of .ci/run (about half an hour on 2 cores):
# run it by hand, as root, where podman and mmdebstrap work (docs/containers.md). Log and results:
# TestResults/fresh-machine/. Exits with test.sh's status.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/docker/podman/containers.conf}
out=$PWD/TestResults/fresh-machine
rm -rf "$out"
mkdir -p "$out"

docker/local-base-images.sh
work=$(mktemp -d /var/tmp/pipeline-fresh.XXXXXX)
name=pipeline-fresh-$$
trap 'podman rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git clone --quiet --no-local "$PWD" "$work/repo"

node=$(command -v node)
npm_package=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")   # the folder of npm's package.json
args=()
# where HTTPS goes through a proxy with its own certificate authority (as on this project's machines), trust the
# machine's bundle inside too, without writing over the container's own
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  args+=(-v /etc/ssl/certs/ca-certificates.crt:/etc/host-ca-certificates.crt:ro
         -e SSL_CERT_FILE=/etc/host-ca-certificates.crt -e NODE_EXTRA_CA_CERTS=/etc/host-ca-certificates.crt)
fi

echo "fresh-machine: $(git rev-parse --short HEAD) in localhost/pipeline-base/sdk:10.0 with node $("$node" --version)"
set +e
podman run --name "$name" "${args[@]}" \
  -v "$node:/usr/local/bin/node:ro" -v "$npm_package:/usr/local/lib/node_modules/npm:ro" \
  -v "$work/repo:/root/pipeline" -w /root/pipeline \
  localhost/pipeline-base/sdk:10.0 \
  bash -c 'ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm &&
           ./test.sh --logger "trx;LogFileName=results.trx" --results-directory /root/pipeline/TestResults' \
  2>&1 | tee "$out/test.log"
status=${PIPESTATUS[0]}
set -e
cp -r "$work/repo/TestResults/." "$out/" 2>/dev/null || true
echo "fresh-machine: ./test.sh exited $status"
exit "$status"
