#!/usr/bin/env bash
# Copies cluster-config/*.conf into the kustomize base (kustomize refuses files outside its root, symlinks included).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rm -f "$root"/k8s/base/cluster-config/*.conf
cp "$root"/cluster-config/*.conf "$root"/k8s/base/cluster-config/
echo "copied: $(cd "$root/k8s/base/cluster-config" && ls *.conf | tr '\n' ' ')"
