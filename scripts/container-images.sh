#!/usr/bin/env bash
# Makes local stand-ins for the Dockerfile's public base images, for machines that cannot pull
# from Docker Hub: a Debian bookworm minbase root filesystem (the runtime), and the same plus a
# C toolchain, this host's CA bundle (HTTPS to the package registries may go through a TLS
# proxy whose CA only the host trusts) and this host's Rust toolchain (the builder).
#
#   scripts/container-images.sh        -> localhost/authsome-runtime-base:bookworm
#                                         localhost/authsome-builder-base:bookworm
# Idempotent: existing images are kept (remove them to rebuild). Needs root, podman, debootstrap.
set -euo pipefail
runtime=localhost/authsome-runtime-base:bookworm
builder=localhost/authsome-builder-base:bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d /var/tmp/authsome-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

if ! podman image exists "$runtime"; then
  echo "== debootstrap runtime root filesystem"
  debootstrap --variant=minbase bookworm "$work/runtime" "$mirror" >"$work/runtime.log" 2>&1 \
    || { tail -20 "$work/runtime.log"; exit 1; }
  rm -rf "$work/runtime/var/cache/apt/archives/"*.deb "$work/runtime/var/lib/apt/lists/"* \
    "$work/runtime/var/cache/apt/"*.bin "$work/runtime/usr/share/man/"* "$work/runtime/usr/share/info/"* \
    "$work/runtime/usr/share/locale/"* "$work/runtime/var/log/"*
  # What debian:bookworm-slim also leaves out: documentation (but not the copyright notices).
  find "$work/runtime/usr/share/doc" -type f ! -name copyright -delete
  tar -C "$work/runtime" -c . | podman import --change 'CMD ["/bin/bash"]' - "$runtime" >/dev/null
  rm -rf "$work/runtime"
fi

if ! podman image exists "$builder"; then
  echo "== debootstrap builder root filesystem"
  debootstrap --variant=minbase --include=gcc,libc6-dev,pkg-config,ca-certificates bookworm "$work/builder" "$mirror" \
    >"$work/builder.log" 2>&1 || { tail -20 "$work/builder.log"; exit 1; }
  rm -rf "$work/builder/var/cache/apt/archives/"*.deb "$work/builder/var/lib/apt/lists/"*
  cp /etc/ssl/certs/ca-certificates.crt "$work/builder/etc/ssl/certs/ca-certificates.crt"
  toolchain=$(rustc --print sysroot)
  echo "== copying the Rust toolchain from $toolchain"
  mkdir -p "$work/builder/usr/local/rust" "$work/builder/usr/local/cargo"
  tar -C "$toolchain" --exclude='./share/doc' --exclude='./lib/rustlib/src' --exclude='./share/man' -c . \
    | tar -C "$work/builder/usr/local/rust" -x
  tar -C "$work/builder" -c . | podman import \
    --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV CARGO_HOME=/usr/local/cargo' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["/bin/bash"]' - "$builder" >/dev/null
fi
podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep authsome- || true
