#!/usr/bin/env python3
"""Analyses one run of partition_test.sh (docs/fencing.md): the members' journals and the clients'
call logs. Exits 0 when every check holds, 1 otherwise; prints the figures either way.

  partition_analyse.py DIR T_CUT0 T_CUT T_HEAL0 T_HEAL FAILURE_TIMEOUT_MS

DIR holds a.log b.log c.log (journals: id amount instance monotonic_ns) and left.calls
right.calls (id amount errc sent_ns done_ns node). T_CUT0/T_CUT: CLOCK_MONOTONIC ns before the
first and after the last iptables rule went in; T_HEAL0/T_HEAL: the same for their removal.
"""
import collections
import os
import sys

LEFT_NODES = {"a", "b"}
RIGHT_NODES = {"c"}
NO_QUORUM = 17
SETTLE_LIMIT_MS = 5000
ERRC = {0: "ok", 1: "no_nodes", 2: "timeout", 3: "node_unreachable", 4: "actor_failed", 5: "rebalancing",
        9: "shutting_down", 10: "overloaded", 17: "no_quorum"}


def ms(ns):
    return ns / 1e6


def read_journals(d):
    out = []
    for node in sorted(LEFT_NODES | RIGHT_NODES):
        path = os.path.join(d, node + ".log")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) == 4:
                    out.append((node, p[0], int(p[1]), int(p[2]), int(p[3])))
    return out


def read_calls(d, client):
    out = []
    with open(os.path.join(d, client + ".calls")) as f:
        for line in f:
            p = line.split()
            if len(p) == 6:
                out.append({"client": client, "id": p[0], "amount": int(p[1]), "errc": int(p[2]),
                            "sent": int(p[3]), "done": int(p[4]), "node": p[5]})
    return out


def side(node):
    return "left" if node in LEFT_NODES else "right"


def main():
    d = sys.argv[1]
    t_cut0, t_cut, t_heal0, t_heal = (int(x) for x in sys.argv[2:6])
    failure_timeout = int(sys.argv[6]) * 1_000_000
    lease = failure_timeout // 2
    journal = read_journals(d)
    left, right = read_calls(d, "left"), read_calls(d, "right")
    ok = True

    def check(cond, what):
        nonlocal ok
        print(("  ok    " if cond else "  FAIL  ") + what)
        ok = ok and cond

    end = max(c["done"] for c in left + right)
    print(f"run: partition {ms(t_heal - t_cut):.0f} ms (rules in after {ms(t_cut - t_cut0):.0f} ms, removed in "
          f"{ms(t_heal - t_heal0):.0f} ms), {ms(end - t_heal):.0f} ms after healing; lease {ms(lease):.0f} ms, "
          f"failure_timeout {ms(failure_timeout):.0f} ms")
    print(f"handled Adds: " + ", ".join(f"{n} {sum(1 for j in journal if j[0] == n)}" for n in sorted(LEFT_NODES | RIGHT_NODES))
          + f"; calls: left {len(left)}, right {len(right)}")

    # ---- figures ----------------------------------------------------------------------------
    c_ids_before = {j[1] for j in journal if j[0] in RIGHT_NODES and t_cut - 2_000_000_000 <= j[4] < t_cut0}
    c_after_cut = [j[4] for j in journal if j[0] in RIGHT_NODES and t_cut0 <= j[4] < t_heal0]
    fence_last_served = (max(c_after_cut) - t_cut0) if c_after_cut else 0
    right_nq = [c["done"] for c in right if c["errc"] == NO_QUORUM and t_cut0 <= c["done"] < t_heal0]
    fence_first_nq = (min(right_nq) - t_cut0) if right_nq else None
    takeover_first, takeover_all = {}, None
    for node, i, _, _, t in journal:
        if node in LEFT_NODES and i in c_ids_before and t_cut0 <= t < t_heal0:
            takeover_first[i] = min(takeover_first.get(i, t), t)
    if takeover_first and len(takeover_first) == len(c_ids_before):
        takeover_all = max(takeover_first.values()) - t_cut0
    print("figures (from the first iptables command):")
    print(f"  time to fence: c handled its last Add {ms(fence_last_served):.0f} ms after the cut; the right client's first "
          f"no_quorum came {'-' if fence_first_nq is None else f'{ms(fence_first_nq):.0f}'} ms after it")
    if takeover_first:
        print(f"  time to take over: the left side served the first of c's {len(c_ids_before)} ids "
              f"{ms(min(takeover_first.values()) - t_cut0):.0f} ms after the cut, all of them "
              f"{'-' if takeover_all is None else f'{ms(takeover_all):.0f}'} ms after it")

    # Fencing and removals each process logged (a majority-side process should log none of its own side).
    for proc in ("a", "b", "left", "c", "right"):
        path = os.path.join(d, proc + ".err")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            lines = f.read().splitlines()
        fenced = sum("lost contact with a majority" in line for line in lines)
        removed = [line.split("'")[1] for line in lines if "is unreachable" in line and "'" in line]
        print(f"  {proc}: lost the majority {fenced} time(s); removed as unreachable: {', '.join(removed) or 'nobody'}")

    def failures(calls, lo, hi):
        cnt = collections.Counter(ERRC.get(c["errc"], str(c["errc"])) for c in calls if lo <= c["sent"] < hi and c["errc"] != 0)
        total = sum(1 for c in calls if lo <= c["sent"] < hi)
        return total, cnt

    for name, calls in (("left", left), ("right", right)):
        for label, lo, hi in (("before the cut", 0, t_cut0), ("during the partition", t_cut0, t_heal),
                              ("after healing", t_heal, end + 1)):
            total, cnt = failures(calls, lo, hi)
            desc = ", ".join(f"{v} {k}" for k, v in sorted(cnt.items())) or "none"
            print(f"  calls failed, {name} client {label}: {sum(cnt.values())} of {total} ({desc})")

    # ---- checks -----------------------------------------------------------------------------
    print("checks:")
    check(len(c_ids_before) > 0 and any(c["errc"] == 0 and c["node"] == "c" for c in right if c["sent"] < t_cut0),
          f"before the cut c served {len(c_ids_before)} ids and the right client was answered")

    # (1) no id handled by both sides once the lease has expired; no overlapping activations at all.
    sides = collections.defaultdict(set)
    for node, i, _, _, t in journal:
        if t_cut + lease <= t < t_heal0:
            sides[i].add(side(node))
    both = sorted(i for i, s in sides.items() if len(s) > 1)
    check(not both, f"no id handled on both sides between cut + lease and healing ({len(both)} were: {both[:5]})")
    spans = collections.defaultdict(dict)
    for node, i, _, inst, t in journal:
        lo, hi = spans[i].get((node, inst), (t, t))
        spans[i][(node, inst)] = (min(lo, t), max(hi, t))
    overlaps = []
    for i, acts in spans.items():
        items = list(acts.items())
        for x in range(len(items)):
            for y in range(x + 1, len(items)):
                (n1, _), (a1, b1) = items[x]
                (n2, _), (a2, b2) = items[y]
                if n1 != n2 and a1 <= b2 and a2 <= b1:
                    overlaps.append(f"{i}: {n1} [{ms(a1 - t_cut0):.0f}, {ms(b1 - t_cut0):.0f}] and {n2} "
                                    f"[{ms(a2 - t_cut0):.0f}, {ms(b2 - t_cut0):.0f}] ms")
    check(not overlaps, f"no two activations of one id on different nodes overlap in time over the whole run "
                        f"({len(overlaps)} did{': ' + '; '.join(overlaps[:3]) if overlaps else ''})")

    # (2) the minority serves nothing once the lease has expired: no call of the right client
    # succeeds. Its calls to ids c owns fail with no_quorum; the right client itself hosts nothing
    # and does not fence itself (docs/fencing.md), so until it drops a and b (failure_timeout)
    # its calls to their ids time out or find them unreachable; from then on, all are no_quorum.
    fenced = [c for c in right if c["sent"] >= t_cut + lease and c["done"] < t_heal0]
    served = [c for c in fenced if c["errc"] == 0]
    settled = [c for c in fenced if c["sent"] >= t_cut + failure_timeout + 500_000_000]
    bad = collections.Counter(ERRC.get(c["errc"], str(c["errc"])) for c in settled if c["errc"] != NO_QUORUM)
    check(len(fenced) > 0 and not served and len(settled) > 0 and not bad,
          f"right client after cut + lease: {len(fenced)} calls, none answered ({len(served)} were); "
          f"from cut + failure_timeout + 500 ms all {len(settled)} no_quorum (others: {dict(bad) or 'none'})")

    # (3) the majority keeps >= 95% success over the partition.
    during = [c for c in left if t_cut0 <= c["sent"] < t_heal]
    good = sum(1 for c in during if c["errc"] == 0)
    rate = good / len(during) if during else 0
    check(len(during) > 100 and rate >= 0.95, f"left client during the partition: {good} of {len(during)} ok ({100 * rate:.2f}%)")

    # (4) within 5 s of healing (from the moment the rules began to be removed), every id answered by
    # one owner, the same for both clients.
    after = sorted((c for c in left + right if c["sent"] >= t_heal0), key=lambda c: c["sent"])
    by_id = collections.defaultdict(list)
    for c in after:
        by_id[c["id"]].append(c)
    settle, last_failure, unsettled, final_owner = 0, 0, [], {}
    limit = t_heal0 + SETTLE_LIMIT_MS * 1_000_000
    for i, calls in by_id.items():
        oks = [c for c in calls if c["errc"] == 0]
        owner = oks[-1]["node"] if oks else None
        final_owner[i] = owner
        other = [c["done"] for c in oks if c["node"] != owner]
        if other:
            settle = max(settle, max(other) - t_heal0)
        failed = [c["done"] for c in calls if c["errc"] != 0]
        if failed:
            last_failure = max(last_failure, max(failed) - t_heal0)
        answered = {c["client"] for c in oks if c["sent"] >= limit}
        if answered != {"left", "right"}:
            unsettled.append(f"{i}: not answered to {', '.join(sorted({'left', 'right'} - answered))} after heal + 5 s")
    late_nodes = collections.defaultdict(set)
    for node, i, _, _, t in journal:
        if t >= limit:
            late_nodes[i].add(node)
    multi = sorted(i for i, s in late_nodes.items() if len(s) > 1)
    owners = collections.Counter(final_owner.values())
    late_calls = [c for c in after if c["sent"] >= limit]
    late_ok = sum(1 for c in late_calls if c["errc"] == 0)
    back = [c["done"] for c in after if c["errc"] == 0 and c["node"] in RIGHT_NODES]
    print(f"  (c answered again {'-' if not back else f'{ms(min(back) - t_heal0):.0f}'} ms after the rules began to be removed)")
    print(f"  (after healing: the last answer from another node than the id's final owner ended {ms(settle):.0f} ms "
          f"after the rules were removed, the last failed call {ms(last_failure):.0f} ms after; from heal + 5 s on "
          f"{late_ok} of {len(late_calls)} calls ok)")
    check(len(by_id) == 60 and settle <= SETTLE_LIMIT_MS * 1_000_000 and not unsettled and not multi,
          f"within {SETTLE_LIMIT_MS} ms of healing every id has one owner, the same for both clients and in the journals "
          f"(settled after {ms(settle):.0f} ms; final owners {dict(sorted(owners.items()))}"
          f"{'; ' + '; '.join(unsettled[:3]) if unsettled else ''}{'; handled by several nodes: ' + str(multi[:5]) if multi else ''})")
    print("PASSED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
