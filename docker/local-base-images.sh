#!/usr/bin/env bash
# Stand-ins for the two base images docker/Dockerfile.cpu names, for machines that reach no container registry but do
# reach Debian's package archive (CI here). Made with mmdebstrap from Debian's packages and imported into podman:
#   localhost/pipeline-base/runtime-deps:10.0  Debian 12 minbase plus what .NET's runtime-deps image adds (ca-certificates,
#                                              libssl, libstdc++, tzdata, zlib) and its non-root user app (uid 1654)
#   localhost/pipeline-base/sdk:10.0           the same plus ICU and this machine's .NET SDK (/usr/share/dotnet)
# Use them with:  podman build --build-arg SDK_IMAGE=localhost/pipeline-base/sdk:10.0 \
#                   --build-arg RUNTIME_IMAGE=localhost/pipeline-base/runtime-deps:10.0 -f docker/Dockerfile.cpu .
# An image that already exists is kept (it is labelled with what it was made from); --rebuild makes both again.
# Needs root, mmdebstrap and podman (docs/containers.md); set CONTAINERS_CONF as that page says on this kind of machine.
set -euo pipefail

RUNTIME_IMAGE=localhost/pipeline-base/runtime-deps:10.0
SDK_IMAGE=localhost/pipeline-base/sdk:10.0
SUITE=bookworm
MIRROR=${PIPELINE_DEBIAN_MIRROR:-http://deb.debian.org}
DOTNET_ROOT_DIR=${DOTNET_ROOT:-/usr/share/dotnet}
rebuild=false
[ "${1:-}" = "--rebuild" ] && rebuild=true

exists() { podman image exists "$1"; }
label() { podman image inspect --format "{{ index .Labels \"$2\" }}" "$1" 2>/dev/null || true; }

# what the runtime-deps stand-in is made of; a change in this list makes it again
packages=ca-certificates,libc6,libgcc-s1,libssl3,libstdc++6,tzdata,zlib1g
recipe="debian-$SUITE-minbase+$packages+app-1654"

if $rebuild || ! exists "$RUNTIME_IMAGE" || [ "$(label "$RUNTIME_IMAGE" pipeline.base.recipe)" != "$recipe" ]; then
  work=$(mktemp -d /var/tmp/pipeline-base.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  echo "local-base-images: mmdebstrap $SUITE ($packages) from $MIRROR"
  # the security suite too, as the images a registry serves are rebuilt with its updates
  mmdebstrap --quiet --variant=minbase --include="$packages" \
    --customize-hook='chroot "$1" groupadd --gid 1654 app' \
    --customize-hook='chroot "$1" useradd --uid 1654 --gid 1654 --create-home --shell /usr/sbin/nologin app' \
    --customize-hook='rm -rf "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/info/* "$1"/var/cache/apt/*.bin' \
    "$SUITE" "$work/rootfs.tar" \
    "deb $MIRROR/debian $SUITE main" "deb $MIRROR/debian $SUITE-updates main" "deb $MIRROR/debian-security $SUITE-security main"
  # the environment .NET's runtime-deps image sets; it runs as root until a Dockerfile says USER, as that image does
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV APP_UID=1654 DOTNET_RUNNING_IN_CONTAINER=true' \
    --change "LABEL pipeline.base.recipe=$recipe" \
    --change 'CMD ["/bin/bash"]' \
    "$work/rootfs.tar" "$RUNTIME_IMAGE" >/dev/null
  rm -rf "$work"
  trap - EXIT
  rebuild=true   # the SDK stand-in sits on this one
fi

sdk_version="$("$DOTNET_ROOT_DIR/dotnet" --version)+icu"
if $rebuild || ! exists "$SDK_IMAGE" || [ "$(label "$SDK_IMAGE" pipeline.base.sdk)" != "$sdk_version" ]; then
  echo "local-base-images: SDK $sdk_version from $DOTNET_ROOT_DIR onto $RUNTIME_IMAGE"
  # the SDK itself needs ICU (its runtimeconfig turns invariant mode off), as .NET's SDK image has it
  ctr=$(podman create "$RUNTIME_IMAGE" sh -c \
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends libicu72 >/dev/null && rm -rf /var/lib/apt/lists/*')
  trap 'podman rm -f "$ctr" >/dev/null 2>&1 || true' EXIT
  podman start --attach "$ctr"
  podman cp "$DOTNET_ROOT_DIR" "$ctr:/usr/share/dotnet"
  # what .NET's SDK image sets: dotnet on PATH, no first-run telemetry banner
  podman commit --quiet \
    --change 'ENV PATH=/usr/share/dotnet:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV DOTNET_ROOT=/usr/share/dotnet DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1' \
    --change "LABEL pipeline.base.sdk=$sdk_version" \
    "$ctr" "$SDK_IMAGE" >/dev/null
  podman rm -f "$ctr" >/dev/null
  trap - EXIT
fi
podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep pipeline-base/ | sed 's/^/local-base-images: /'
