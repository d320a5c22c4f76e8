#!/usr/bin/env bash
# Follows docs/guides/self-hosting.md's steps with the repository's docker-compose.yml on a
# machine without Docker: docker-compose (Debian) talks to podman's Docker-compatible socket,
# and where Docker Hub is unreachable, local stand-ins replace postgres and redis (Debian's
# packages behind the official images' interface). Leaves nothing running.
#
#   scripts/compose-e2e.sh [IMAGE]   (default localhost/authsome-rs:smoke, built by container-smoke.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-localhost/authsome-rs:smoke}
export DEBIAN_FRONTEND=noninteractive
for package in docker-compose golang-github-containernetworking-plugin-dnsname; do
  dpkg -s "$package" >/dev/null 2>&1 || apt-get install -y -q --no-install-recommends "$package" >/dev/null
done

# Stand-ins for docker.io/library/postgres and redis when they cannot be pulled.
postgres_image=docker.io/library/postgres:16-bookworm
redis_image=docker.io/library/redis:7-bookworm
if ! timeout 60 podman pull -q "$postgres_image" >/dev/null 2>&1 || ! timeout 60 podman pull -q "$redis_image" >/dev/null 2>&1; then
  scripts/container-images.sh >/dev/null
  postgres_image=localhost/authsome-postgres-standin:15
  redis_image=localhost/authsome-redis-standin:7
  if ! podman image exists "$postgres_image"; then
    podman build --network=host --format docker -t "$postgres_image" -f - scripts/standins <<'CONTAINERFILE' >/dev/null
FROM localhost/authsome-runtime-base:bookworm
RUN apt-get update -q && apt-get install -y -q --no-install-recommends postgresql-15 postgresql-client-15 && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EXPOSE 5432
ENTRYPOINT ["/bin/sh", "/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
CONTAINERFILE
  fi
  if ! podman image exists "$redis_image"; then
    podman build --network=host --format docker -t "$redis_image" -f - scripts/standins <<'CONTAINERFILE' >/dev/null
FROM localhost/authsome-runtime-base:bookworm
RUN apt-get update -q && apt-get install -y -q --no-install-recommends redis-server redis-tools && rm -rf /var/lib/apt/lists/*
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
CONTAINERFILE
  fi
fi

# podman's Docker API for docker-compose.
socket=/run/podman/podman.sock
if [ ! -S "$socket" ] || ! curl -s --unix-socket "$socket" http://d/_ping >/dev/null; then
  mkdir -p /run/podman
  podman system service --time=0 "unix://$socket" >/tmp/podman-service.log 2>&1 &
  for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
fi
export DOCKER_HOST="unix://$socket"

repo=$PWD
work=$(mktemp -d /tmp/authsome-compose.XXXXXX)
cp docker-compose.yml "$work/"
cd "$work"
project=authsome-e2e
cleanup() {
  kill "${health_loop:-0}" 2>/dev/null || true
  docker-compose -p "$project" down -v >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# Without systemd podman does not schedule health checks itself: run them as systemd would.
( while true; do
    for container in $(podman ps --filter "label=com.docker.compose.project=$project" --format '{{.Names}}'); do
      podman healthcheck run "$container" >/dev/null 2>&1 || true
    done
    sleep 2
  done ) &
health_loop=$!

echo "== step 2: secrets and environment"
set -x
mkdir -p secrets
head -c 32 /dev/urandom | base64 > secrets/authsome_master_key
chown 10001:10001 secrets/authsome_master_key && chmod 400 secrets/authsome_master_key
echo "POSTGRES_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')" > .env
echo "AUTHSOME_BASE_URL=http://127.0.0.1:7998" >> .env
echo "AUTHSOME_IMAGE=$image" >> .env
echo "POSTGRES_IMAGE=$postgres_image" >> .env
echo "REDIS_IMAGE=$redis_image" >> .env
docker-compose -p "$project" config -q
set +x
echo "== step 3: the first administrator"
set -x
docker-compose -p "$project" run --rm authsome-1 init --admin-email you@example.com | tee init.out
set +x
grep -q "setup link" init.out
echo "== step 4: start"
set -x
docker-compose -p "$project" up -d --no-build
set +x
for _ in $(seq 120); do
  healthy=$(podman ps --filter "label=com.docker.compose.project=$project" --format '{{.Names}} {{.Status}}' | grep -c healthy || true)
  [ "$healthy" -ge 4 ] && break
  sleep 1
done
podman ps --filter "label=com.docker.compose.project=$project" --format '{{.Names}}\t{{.Status}}'
echo "== step 5: verify"
set -x
curl -fsS http://127.0.0.1:7998/health; echo
curl -fsS http://127.0.0.1:7999/ready; echo
set +x
test "$healthy" -ge 4
if [ -n "${AUTHSOME_REFERENCE_VENV:-}" ]; then
  echo "== step 5, continued: the setup link, then an agent onboarded and claimed"
  link=$(grep -o 'http://[^ ]*/login?setup=[^ ]*' init.out)
  (cd "$repo/tests/blackbox" && "$AUTHSOME_REFERENCE_VENV/bin/python" guide_walkthrough.py "$link" http://127.0.0.1:7999)
fi
echo "compose end to end: OK"
