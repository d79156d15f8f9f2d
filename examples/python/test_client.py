"""ctest: examples/python/mesh_client.py against a real node process (bank_node), over CURVE.

usage: test_client.py <path to mesh_example_bank_node>
Exits 77 (ctest: skipped) when python3-zmq or python3-msgpack is missing."""

import os
import subprocess
import sys

try:
    import zmq  # noqa: F401
    import msgpack  # noqa: F401
except ImportError as e:
    print(f"SKIP: {e.name} is not installed (Debian: apt-get install python3-zmq python3-msgpack)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mesh_client import (INT64, STR, VOID, Actor, Client, MeshError, Schema, struct, tag, vec)  # noqa: E402

# The node's schema, described as docs/wire.md section 4 says (names as the compiler spells them).
ACCOUNT = Actor("account", "accounts", messages=[
    (struct("bank::Deposit", [("amount", INT64)]), INT64),
    (struct("bank::Withdraw", [("amount", INT64)]), INT64),
    (tag("bank::Balance"), INT64),
    (tag("bank::Close"), VOID),
    (struct("bank::Statement", [("owner", STR), ("balance", INT64), ("history", vec(INT64))]),
     struct("bank::Statement", [("owner", STR), ("balance", INT64), ("history", vec(INT64))])),
])
DEPOSIT, WITHDRAW, BALANCE, CLOSE, STATEMENT = range(5)


def expect_error(code, f):
    try:
        f()
    except MeshError as e:
        assert e.code == code, f"expected {code}, got {e}"
        return e
    raise AssertionError(f"expected {code}, got a reply")


def main():
    if not zmq.has("curve"):
        print("SKIP: this libzmq has no CURVE support")
        return 77
    public, secret = zmq.curve_keypair()  # a fresh cluster secret (Z85)
    env = dict(os.environ, MESH_NAME="bank", MESH_LISTEN="tcp://127.0.0.1:*",
               MESH_CLUSTER_SECRET=secret.decode(), MESH_EXAMPLE_LIFETIME_S="60")
    node = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    try:
        words = node.stdout.readline().split()
        assert words[:1] == ["ready"], f"node did not start: {words}"
        endpoint, node_fingerprint = words[1], int(words[3])
        schema = Schema([ACCOUNT])
        assert schema.fingerprint() == node_fingerprint, \
            f"fingerprint computed from docs/wire.md {schema.fingerprint():#x} != node's {node_fingerprint:#x}"

        with Client(endpoint, schema, cluster_secret=secret) as c:
            assert c.call("account", "alice", DEPOSIT, [100]) == (100, "bank")
            assert c.call("account", "alice", WITHDRAW, [30])[0] == 70
            assert c.call("account", "alice", BALANCE, [])[0] == 70
            assert c.call("account", "alice", STATEMENT, ["", 0, []])[0] == ["alice", 70, [100, -30]]
            assert c.call("account", "alice", CLOSE, []) == (None, "bank")  # void: nil
            c.cast("account", "bob", DEPOSIT, [5])
            assert c.call("account", "bob", BALANCE, [])[0] == 5  # same connection: after the cast
            e = expect_error("rejected", lambda: c.call("account", "alice", WITHDRAW, [1000]))
            assert e.text == "insufficient funds"
            assert c.call("account", "alice", BALANCE, [])[0] == 70  # rejected keeps the state
            expect_error("not_found", lambda: c.call("no_such_actor", "x", 0, []))
            expect_error("bad_message", lambda: c.call("account", "alice", 99, []))  # no message #99
            expect_error("bad_message", lambda: c.call("account", "alice", DEPOSIT, ["ten"]))
            expect_error("invalid_argument", lambda: c.call("account", "x" * 20000, BALANCE, []))

        wrong = Schema([Actor("account", "accounts", messages=ACCOUNT.messages[:4])])
        with Client(endpoint, wrong, cluster_secret=secret) as c:
            expect_error("schema_mismatch", lambda: c.call("account", "alice", BALANCE, []))

        _, stranger = zmq.curve_keypair()  # not the cluster's key: the node says nothing
        with Client(endpoint, schema, cluster_secret=stranger, timeout_ms=500) as c:
            expect_error("timeout", lambda: c.call("account", "alice", BALANCE, []))
        print("python client OK")
        return 0
    finally:
        node.stdin.close()
        try:
            node.wait(timeout=20)
        except subprocess.TimeoutExpired:
            node.kill()


if __name__ == "__main__":
    sys.exit(main())
