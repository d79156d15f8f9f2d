#!/usr/bin/env bash
# A real 2-vs-1 network partition between Linux network namespaces (docs/fencing.md, issue #20).
#
#   partition_test.sh MESH_TEST_NODE MESH_PARTITION_CLIENT
#
# Two namespaces joined by a veth pair on 10.231.7.0/24:
#   left  (10.231.7.1): members a, b and client "left"
#   right (10.231.7.2): member c and client "right"
# Members run mesh_test_node with --journal (every Add handled: id amount instance monotonic_ns),
# failure_timeout 1000 ms (lease 500 ms), heartbeats every 50 ms. Each client calls the same 60
# counters continuously (300 ms deadline per call) and logs every outcome. After LOAD_S seconds
# the right namespace drops every packet from and to the left one (iptables, both directions) for
# PART_S seconds, then the rules are removed and the run goes on for AFTER_S seconds.
# partition_analyse.py then checks: (1) no id handled on both sides once the lease has expired,
# and no two activations of one id on different nodes overlapping in time over the whole run;
# (2) every call of the right client after the lease fails with no_quorum; (3) the left client
# keeps >= 95% success during the partition; (4) within 5 s of healing every id is answered by a
# single owner, the same for both clients. It prints the time to fence, the time to take over and
# the calls failed.
#
# Needs root, `ip netns` and iptables (nft or legacy backend); exits 77 (skipped) without them.
# Cleans up namespaces, veths, rules and processes on every exit.
set -u

NODE=${1:-}
CLIENT=${2:-}
LOAD_S=${LOAD_S:-3}
PART_S=${PART_S:-8}
AFTER_S=${AFTER_S:-7}
FAILURE_TIMEOUT_MS=${FAILURE_TIMEOUT_MS:-1000}
HEARTBEAT_MS=50
HERE=$(cd "$(dirname "$0")" && pwd)

skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*"; exit 1; }

[ -x "$NODE" ] && [ -x "$CLIENT" ] || fail "usage: $0 MESH_TEST_NODE MESH_PARTITION_CLIENT (executables)"
[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces (run ctest as root, or in a container with CAP_NET_ADMIN and CAP_SYS_ADMIN)"
PY=$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3 || true)
[ -n "$PY" ] || skip "python3 is missing (it analyses the logs)"
if ! command -v ip >/dev/null || ! command -v iptables-restore >/dev/null; then
  if command -v apt-get >/dev/null; then
    echo "installing iproute2 and iptables with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 iptables >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 iptables >/dev/null 2>&1; }
  fi
  command -v ip >/dev/null || skip "the ip command (iproute2) is missing"
  command -v iptables-restore >/dev/null || skip "iptables (iptables-restore) is missing"
fi

TAG=$$
NS_L=mesh-left-$TAG
NS_R=mesh-right-$TAG
VETH_L=mpl$TAG
VETH_R=mpr$TAG
ADDR_L=10.231.7.1
ADDR_R=10.231.7.2
DIR=$(mktemp -d /tmp/mesh-partition-XXXXXX)
PIDS=()
PARTITIONED=0

cleanup() {
  local rc=$?
  touch "$DIR/stop"
  [ "$PARTITIONED" = 1 ] && rules D 2>/dev/null
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 30); do
    local alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  # Deleting a namespace deletes its end of the veth pair (and so the pair) and its rules.
  ip netns del "$NS_L" 2>/dev/null
  ip netns del "$NS_R" 2>/dev/null
  ip link del "$VETH_L" 2>/dev/null
  if [ "$rc" = 0 ] && [ -z "${KEEP_LOGS:-}" ]; then rm -rf "$DIR"; else echo "logs kept in $DIR"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS_L" 2>"$DIR/netns.err" || skip "ip netns add failed: $(cat "$DIR/netns.err") (no CAP_SYS_ADMIN/CAP_NET_ADMIN?)"
ip netns add "$NS_R" 2>"$DIR/netns.err" || skip "ip netns add failed: $(cat "$DIR/netns.err")"
ip link add "$VETH_L" type veth peer name "$VETH_R" 2>"$DIR/netns.err" || skip "cannot create a veth pair: $(cat "$DIR/netns.err")"
ip link set "$VETH_L" netns "$NS_L" && ip link set "$VETH_R" netns "$NS_R" || fail "cannot move the veth ends"
ip -n "$NS_L" addr add "$ADDR_L/24" dev "$VETH_L" && ip -n "$NS_R" addr add "$ADDR_R/24" dev "$VETH_R" || fail "cannot address the veths"
for ns in "$NS_L" "$NS_R"; do ip -n "$ns" link set lo up || fail "lo up in $ns"; done
ip -n "$NS_L" link set "$VETH_L" up && ip -n "$NS_R" link set "$VETH_R" up || fail "cannot bring the veths up"
ip netns exec "$NS_R" iptables -L INPUT -n >/dev/null 2>"$DIR/ipt.err" || skip "iptables does not work in a namespace: $(cat "$DIR/ipt.err")"
echo "namespaces $NS_L ($ADDR_L: a, b, client left) and $NS_R ($ADDR_R: c, client right) on a veth pair"

# Both directions at once (one iptables-restore transaction): I inserts the DROP rules, D deletes them.
rules() {
  printf '*filter\n-%s INPUT -s %s -j DROP\n-%s OUTPUT -d %s -j DROP\nCOMMIT\n' "$1" "$ADDR_L" "$1" "$ADDR_L" |
    ip netns exec "$NS_R" iptables-restore --noflush
}
mono_ns() { "$PY" -c 'import time; print(time.monotonic_ns())'; }
EP_A=tcp://$ADDR_L:7701
EP_B=tcp://$ADDR_L:7702
EP_C=tcp://$ADDR_R:7711
member() {  # member NS NAME ENDPOINT SEED...
  local ns=$1 name=$2 ep=$3
  shift 3
  local seeds=()
  for s in "$@"; do seeds+=(--seed "$s"); done
  ip netns exec "$ns" "$NODE" --name "$name" --listen "$ep" "${seeds[@]}" --caps game \
    --heartbeat-ms $HEARTBEAT_MS --failure-timeout-ms $FAILURE_TIMEOUT_MS --max-lifetime-s 110 \
    --journal "$DIR/$name.log" >"$DIR/$name.out" 2>"$DIR/$name.err" &
  PIDS+=($!)
}
client() {  # client NS NAME ENDPOINT AMOUNT_BASE
  ip netns exec "$1" "$CLIENT" --name "$2" --listen "$3" --seed "$EP_A" --seed "$EP_C" --out "$DIR/$2.calls" \
    --stop-file "$DIR/stop" --ids 60 --threads 4 --timeout-ms 300 --pause-ms 10 --amount-base "$4" \
    --heartbeat-ms $HEARTBEAT_MS --failure-timeout-ms $FAILURE_TIMEOUT_MS --max-s 100 \
    >"$DIR/$2.out" 2>"$DIR/$2.err" &
  PIDS+=($!)
}

member "$NS_L" a "$EP_A" "$EP_C"
member "$NS_L" b "$EP_B" "$EP_A"
member "$NS_R" c "$EP_C" "$EP_A"
client "$NS_L" left "tcp://$ADDR_L:7703" 1
client "$NS_R" right "tcp://$ADDR_R:7712" 1000000000

t_start=$(mono_ns)
for _ in $(seq 200); do
  grep -q READY "$DIR/left.out" 2>/dev/null && grep -q READY "$DIR/right.out" 2>/dev/null && break
  sleep 0.1
done
grep -q READY "$DIR/left.out" && grep -q READY "$DIR/right.out" || { tail -n 5 "$DIR"/*.err; fail "the cluster did not converge within 20 s"; }
echo "converged: both clients reach all 60 ids on a, b, c ($(( ($(mono_ns) - t_start) / 1000000 )) ms)"

sleep "$LOAD_S"
t_cut0=$(mono_ns)
PARTITIONED=1
rules I || fail "iptables-restore could not add the DROP rules"
t_cut=$(mono_ns)
echo "partitioned {a, b, left} | {c, right} for $PART_S s (rules in place $(( (t_cut - t_cut0) / 1000000 )) ms after the first command)"
sleep "$PART_S"
t_heal0=$(mono_ns)
rules D || fail "iptables-restore could not remove the DROP rules"
PARTITIONED=0
t_heal=$(mono_ns)
echo "healed; running $AFTER_S s more"
sleep "$AFTER_S"
for i in 0 1 2; do
  kill -0 "${PIDS[$i]}" 2>/dev/null || { tail -n 5 "$DIR"/*.err; fail "member process ${PIDS[$i]} died during the run"; }
done
touch "$DIR/stop"
for _ in $(seq 50); do
  [ -s "$DIR/left.calls" ] && [ -s "$DIR/right.calls" ] && ! kill -0 "${PIDS[3]}" 2>/dev/null && ! kill -0 "${PIDS[4]}" 2>/dev/null && break
  sleep 0.1
done

echo "$t_cut0 $t_cut $t_heal0 $t_heal $FAILURE_TIMEOUT_MS" >"$DIR/times"
"$PY" "$HERE/partition_analyse.py" "$DIR" "$t_cut0" "$t_cut" "$t_heal0" "$t_heal" "$FAILURE_TIMEOUT_MS"
