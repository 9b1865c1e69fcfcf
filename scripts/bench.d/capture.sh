#!/usr/bin/env bash
# scripts/bench, step 1: run inside a private network namespace (`unshare --net`),
# so the capture holds only this traffic and loopback has a real-world MTU.
# nginx serves a JSON API on 127.0.0.1:80, wrk loads it with wrk.lua, tcpdump
# writes OUT until it holds BYTES bytes.
# Usage: capture.sh WORKDIR OUT BYTES CONNECTIONS
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$1 out=$2 bytes=$3 conns=$4

# A wire-like MTU, and no TCP segmentation offload: without these, loopback
# frames are 64 KiB TSO super-segments, far fewer packets than a real mirror.
ip link set lo up mtu 1500
ip link set lo gso_max_size 1500 gso_max_segs 1 2>/dev/null ||
  echo "bench: could not limit GSO on lo; frames may exceed the MTU" >&2

www=$work/www
mkdir -p "$www/static" "$work"/{body,proxy,fastcgi,uwsgi,scgi}
# Static files of several sizes (deterministic content).
python3 - "$www/static" <<'PY'
import os, random, sys
d = sys.argv[1]
rng = random.Random(7)
line = "function f%d(a, b) { return fetch('/api/users/' + a).then(r => r.json()); }\n"
open(os.path.join(d, "app.js"), "w").write("".join(line % i for i in range(600)))
open(os.path.join(d, "style.css"), "w").write("".join(".c%d { margin: %dpx; color: #%06x; }\n" % (i, i % 17, rng.randrange(1 << 24)) for i in range(250)))
open(os.path.join(d, "logo.png"), "wb").write(b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(24000)))
open(os.path.join(d, "data.json"), "w").write('{"items":[' + ",".join('{"id":%d,"v":%d}' % (i, rng.randrange(1000)) for i in range(120)) + "]}")
PY
sed "s|@DIR@|$work|g" "$here/nginx.conf" > "$work/nginx.conf"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

nginx -e "$work/nginx-error.log" -p "$work" -c "$work/nginx.conf" &
pids+=($!)
for _ in $(seq 50); do
  curl -fsS -o /dev/null http://127.0.0.1/health 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null http://127.0.0.1/health || { echo "bench: nginx did not start (see $work/nginx-error.log)" >&2; exit 1; }

rm -f "$out"
tcpdump -i lo -s 0 -B 131072 -U -w "$out" 'tcp port 80' 2> "$work/tcpdump.log" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for _ in $(seq 50); do grep -q "listening on" "$work/tcpdump.log" 2>/dev/null && break; sleep 0.1; done

threads=$(nproc)
[ "$conns" -ge "$threads" ] || conns=$threads
wrk -t "$threads" -c "$conns" -d 3600s --timeout 5s -s "$here/wrk.lua" http://127.0.0.1/ > "$work/wrk.log" 2>&1 &
wrk_pid=$!
pids+=($wrk_pid)

while :; do
  size=$(stat -c %s "$out" 2>/dev/null || echo 0)
  [ "$size" -ge "$bytes" ] && break
  kill -0 "$wrk_pid" 2>/dev/null || { echo "bench: wrk exited early:" >&2; cat "$work/wrk.log" >&2; exit 1; }
  sleep 0.2
done
# Stop the load first (wrk closes its connections: FINs are captured), then tcpdump.
kill -INT "$wrk_pid"; wait "$wrk_pid" || true
sleep 0.5
kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" || true
cat "$work/tcpdump.log" >&2
