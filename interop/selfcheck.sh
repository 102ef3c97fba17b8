#!/usr/bin/env bash
# Build the interop peers and check them against each other before any
# TypeScript code is involved. The go-yamux program's `drive` mode runs the
# command protocol checks (internal/driver) against:
#   1. each raw peer in `listen` mode (the driver is the yamux client);
#   2. each raw peer in `dial` mode, via `go-yamux drive-listen` (the driver
#      is the yamux server) - the peer must then exit 0;
#   3. the go-libp2p peer, via `go-libp2p drive`, plus a dial-mode exit check.
# Everything runs on 127.0.0.1 with bounded timeouts; the whole run takes
# well under a minute once built.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="$HERE/../.cache/interop/bin"
LOG="$HERE/../.cache/interop/selfcheck"

"$HERE/build.sh" || { echo "selfcheck: build failed" >&2; exit 1; }
rm -rf "$LOG" && mkdir -p "$LOG"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
}
trap cleanup EXIT

# wait_ready FILE -> prints the word after READY, or fails after 10 s
wait_ready() {
  local f=$1 i
  for i in $(seq 100); do
    if grep -q '^READY ' "$f" 2>/dev/null; then
      awk '/^READY /{print $2; exit}' "$f"
      return 0
    fi
    sleep 0.1
  done
  return 1
}

results=()
fails=0
record() { # name status
  results+=("$(printf '%-46s %s' "$1" "$2")")
  [ "$2" = PASS ] || fails=$((fails + 1))
}

flags_for() { [ "$1" = go-hashicorp ] && echo "-allow-eof-reset"; }

for peer in go-yamux go-hashicorp rust-yamux; do
  # 1. peer listens, go-yamux drives as client
  name="$peer listen <- go-yamux drive"
  out="$LOG/$peer.listen"
  "$BIN/$peer" listen 127.0.0.1:0 >"$out.stdout" 2>"$out.stderr" &
  lpid=$!; pids+=("$lpid")
  if port=$(wait_ready "$out.stdout"); then
    echo "== $name (port $port)"
    if timeout 90 "$BIN/go-yamux" drive $(flags_for "$peer") "127.0.0.1:$port" | tee "$out.drive"; then
      record "$name" PASS
    else
      record "$name" FAIL
    fi
  else
    echo "== $name: no READY line" >&2
    record "$name" FAIL
  fi
  kill "$lpid" 2>/dev/null; wait "$lpid" 2>/dev/null

  # 2. go-yamux listens and drives as server, peer dials
  name="$peer dial -> go-yamux drive-listen"
  out="$LOG/$peer.dial"
  "$BIN/go-yamux" drive-listen $(flags_for "$peer") 127.0.0.1:0 >"$out.drive" 2>"$out.driver-stderr" &
  dpid=$!; pids+=("$dpid")
  if port=$(wait_ready "$out.drive"); then
    echo "== $name (port $port)"
    timeout 90 "$BIN/$peer" dial "127.0.0.1:$port" 2>"$out.stderr"
    peer_rc=$?
    wait "$dpid"; drv_rc=$?
    grep -v '^READY' "$out.drive"
    echo "(driver exit $drv_rc, $peer dial exit $peer_rc)"
    if [ "$drv_rc" -eq 0 ] && [ "$peer_rc" -eq 0 ]; then
      record "$name" PASS
    else
      record "$name" FAIL
    fi
  else
    echo "== $name: driver printed no READY line" >&2
    kill "$dpid" 2>/dev/null
    record "$name" FAIL
  fi
done

# 3. go-libp2p: listen + drive
name="go-libp2p listen <- go-libp2p drive"
out="$LOG/go-libp2p.listen"
"$BIN/go-libp2p" listen >"$out.stdout" 2>"$out.stderr" &
lpid=$!; pids+=("$lpid")
if maddr=$(wait_ready "$out.stdout"); then
  echo "== $name ($maddr)"
  if timeout 90 "$BIN/go-libp2p" drive "$maddr" | tee "$out.drive"; then
    record "$name" PASS
  else
    record "$name" FAIL
  fi
  # dial mode: connects, then exits 0 once the listener goes away
  name="go-libp2p dial exits 0 on disconnect"
  "$BIN/go-libp2p" dial "$maddr" 2>"$LOG/go-libp2p.dial.stderr" &
  dial_pid=$!; pids+=("$dial_pid")
  sleep 1
  kill "$lpid" 2>/dev/null; wait "$lpid" 2>/dev/null
  rc=124
  for i in $(seq 100); do
    if ! kill -0 "$dial_pid" 2>/dev/null; then wait "$dial_pid"; rc=$?; break; fi
    sleep 0.1
  done
  [ "$rc" -eq 0 ] && record "$name" PASS || record "$name" "FAIL (rc $rc)"
else
  echo "== $name: no READY line" >&2
  record "$name" FAIL
fi
kill "$lpid" 2>/dev/null

echo
echo "== self-check summary (logs in .cache/interop/selfcheck/)"
printf '%s\n' "${results[@]}"
echo "selfcheck: $(( ${#results[@]} - fails )) passed, $fails failed"
[ "$fails" -eq 0 ]
