# syntax=docker/dockerfile:1
# authsome-rs: a multi-stage build. The builder compiles the `authsome` binary (dependencies in
# their own cached layer); the runtime image holds only that binary, runs as a non-root user,
# keeps data under one volume, and checks its own health with `authsome healthcheck`.
#
# Base images are build arguments: public defaults, or local stand-ins where Docker Hub is out
# of reach (scripts/container-images.sh builds them with debootstrap).

ARG BUILDER_IMAGE=docker.io/library/rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${BUILDER_IMAGE} AS builder
WORKDIR /src

# 1. Dependencies only: the manifests, the lock file and empty crate sources. This layer is
#    rebuilt only when a manifest or Cargo.lock changes.
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY .cargo .cargo
COPY domain/Cargo.toml domain/
COPY ports/Cargo.toml ports/
COPY adapters/disk/Cargo.toml adapters/disk/
COPY adapters/memory/Cargo.toml adapters/memory/
COPY adapters/sql/Cargo.toml adapters/sql/
COPY adapters/sqlite/Cargo.toml adapters/sqlite/
COPY adapters/postgres/Cargo.toml adapters/postgres/
COPY adapters/redis/Cargo.toml adapters/redis/
COPY adapters/outbound/Cargo.toml adapters/outbound/
COPY services/Cargo.toml services/
COPY app/Cargo.toml app/
RUN set -eu; \
    for crate in domain ports adapters/disk adapters/memory adapters/sql adapters/sqlite adapters/postgres adapters/redis adapters/outbound services app; do \
      mkdir -p "$crate/src" && : > "$crate/src/lib.rs"; \
    done; \
    echo 'fn main() {}' > app/src/main.rs; \
    for crate in domain ports adapters/disk adapters/memory adapters/sql adapters/sqlite adapters/postgres adapters/redis adapters/outbound services app; do \
      for bench in $(awk '/^\[\[bench\]\]/ { in_bench = 1; next } in_bench && /^name *=/ { gsub(/^name *= *"|".*$/, ""); print; in_bench = 0 }' "$crate/Cargo.toml"); do \
        mkdir -p "$crate/benches" && : > "$crate/benches/$bench.rs"; \
      done; \
    done
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo build --release --locked -p authsome-app

# 2. The sources. Touch them so cargo never mistakes them for the stubs built above.
COPY domain domain
COPY ports ports
COPY adapters adapters
COPY services services
COPY app app
COPY migrations migrations
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    set -eu; \
    find domain ports adapters services app -name '*.rs' -exec touch {} +; \
    cargo build --release --locked -p authsome-app; \
    strip target/release/authsome; \
    ./target/release/authsome --version

FROM ${RUNTIME_IMAGE} AS runtime
RUN set -eu; \
    groupadd --system --gid 10001 authsome; \
    useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/authsome --shell /usr/sbin/nologin authsome; \
    mkdir -p /var/lib/authsome; \
    chown 10001:10001 /var/lib/authsome; \
    chmod 0700 /var/lib/authsome
COPY --from=builder /src/target/release/authsome /usr/local/bin/authsome

# Every setting is an AUTHSOME_* variable (docs/guides/self-hosting.md). These defaults suit
# a container: listen on every interface, keep local data (SQLite, disk vault, key file) in the
# volume, and never look for an OS keyring (there is none in a container).
ENV AUTHSOME_HOME=/var/lib/authsome \
    AUTHSOME_HOST=0.0.0.0 \
    AUTHSOME_PORT=7998 \
    AUTHSOME_KEYRING=off \
    AUTHSOME_LOG=info,sqlx=warn \
    AUTHSOME_LOG_FORMAT=json
VOLUME ["/var/lib/authsome"]
WORKDIR /var/lib/authsome
USER 10001:10001
EXPOSE 7998
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["/usr/local/bin/authsome", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/authsome"]
CMD ["serve"]
