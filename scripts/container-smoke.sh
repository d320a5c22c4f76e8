#!/usr/bin/env bash
# Builds the container image with podman and runs it against this host's Postgres and Redis
# (tests/blackbox/test_container.py). Where Docker Hub's base images cannot be pulled, builds
# local stand-ins first (scripts/container-images.sh). Prints the image size and build time.
#
# Heavy (a release build inside the builder): .ci/run runs it when the Dockerfile or the build
# inputs change, or when AUTHSOME_CONTAINER_SMOKE=1.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get install -y -q --no-install-recommends podman runc debootstrap >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends podman runc debootstrap >/dev/null; }
fi
# This machine's podman needs explicit ulimits and runc.
if [ ! -f /etc/containers/containers.conf ]; then
  mkdir -p /etc/containers
  cat >/etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[engine]
runtime = "runc"
CONF
fi

builder=${BUILDER_IMAGE:-docker.io/library/rust:1.95-slim-bookworm}
runtime=${RUNTIME_IMAGE:-docker.io/library/debian:bookworm-slim}
if ! timeout 60 podman pull -q "$runtime" >/dev/null 2>&1 || ! timeout 300 podman pull -q "$builder" >/dev/null 2>&1; then
  echo "== public base images unreachable: using local stand-ins"
  scripts/container-images.sh
  builder=localhost/authsome-builder-base:bookworm
  runtime=localhost/authsome-runtime-base:bookworm
fi

image=localhost/authsome-rs:smoke
echo "== podman build ($builder -> $runtime)"
started=$(date +%s)
podman build --network=host --format docker \
  --build-arg BUILDER_IMAGE="$builder" --build-arg RUNTIME_IMAGE="$runtime" -t "$image" . \
  >/tmp/authsome-container-build.log 2>&1 || { tail -40 /tmp/authsome-container-build.log; exit 1; }
echo "build: $(( $(date +%s) - started )) s"
echo "image: $(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.1f MB", $1/1000000}') ($image)"
echo "binary: $(podman run --rm --entrypoint /bin/sh "$image" -c 'stat -c %s /usr/local/bin/authsome' | awk '{printf "%.1f MB", $1/1000000}')"

export AUTHSOME_CONTAINER_IMAGE=$image
export AUTHSOME_TEST_DATABASE_URL=${AUTHSOME_TEST_DATABASE_URL:-postgres://root@127.0.0.1:5432/test}
export AUTHSOME_TEST_REDIS_URL=${AUTHSOME_TEST_REDIS_URL:-redis://127.0.0.1:6379}
export AUTHSOME_REFERENCE_VENV=${AUTHSOME_REFERENCE_VENV:-$PWD/.venv-reference}
scripts/install-reference.sh "$AUTHSOME_REFERENCE_VENV" >/dev/null
(cd tests/blackbox && "$AUTHSOME_REFERENCE_VENV/bin/python" -m unittest -v test_container)
