#!/usr/bin/env bash
# Build the interop peers into .cache/interop/bin/:
#   go-hashicorp go-yamux go-libp2p   (one Go module: interop/go.mod)
#   rust-yamux                        (Cargo project: interop/rust-yamux)
# Idempotent: go build and cargo are incremental, so a second run is quick.
# Go/Cargo download caches also live under .cache/interop unless GOMODCACHE,
# GOCACHE or CARGO_HOME are already set in the environment.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CACHE="$ROOT/.cache/interop"
BIN="$CACHE/bin"

missing=()
command -v go >/dev/null 2>&1 || missing+=("go (Go toolchain, >= 1.26)")
command -v cargo >/dev/null 2>&1 || missing+=("cargo (Rust toolchain)")
if [ "${#missing[@]}" -gt 0 ]; then
  for m in "${missing[@]}"; do
    echo "interop/build.sh: ERROR: required tool not found on PATH: $m" >&2
  done
  echo "interop/build.sh: cannot build the interop peers" >&2
  exit 1
fi

mkdir -p "$BIN"

export GOMODCACHE="${GOMODCACHE:-$CACHE/gomod}"
export GOCACHE="${GOCACHE:-$CACHE/gocache}"
export GOFLAGS="${GOFLAGS:-} -modcacherw -buildvcs=false -mod=readonly"
export CARGO_HOME="${CARGO_HOME:-$CACHE/cargo-home}"
export CARGO_TARGET_DIR="$CACHE/target"

step() { echo "interop/build.sh: $*" >&2; }

cd "$HERE"
for p in go-hashicorp go-yamux go-libp2p; do
  step "go build $p"
  if ! go build -trimpath -o "$BIN/$p" "./$p"; then
    echo "interop/build.sh: ERROR: go build of $p failed" >&2
    exit 1
  fi
done

step "cargo build --release rust-yamux"
if ! (cd "$HERE/rust-yamux" && cargo build --release --locked --quiet); then
  echo "interop/build.sh: ERROR: cargo build of rust-yamux failed" >&2
  exit 1
fi
src="$CARGO_TARGET_DIR/release/rust-yamux"
if ! cmp -s "$src" "$BIN/rust-yamux"; then
  cp "$src" "$BIN/rust-yamux.tmp" && mv -f "$BIN/rust-yamux.tmp" "$BIN/rust-yamux"
fi

step "done: $(cd "$BIN" && echo go-hashicorp go-yamux go-libp2p rust-yamux) in $BIN"
