"""A minimal mesh client in Python, written from docs/wire.md (frames, values, fingerprint) and
docs/security.md (CURVE key scheme). It calls actors as a non-member: a DEALER connected to a
node's ROUTER; the node answers on the same connection.

Needs Debian's python3-zmq (with CURVE) and python3-msgpack.

    from mesh_client import Client, Schema, Actor, struct, tag, INT64
    schema = Schema([Actor("account", "accounts", messages=[
        (struct("bank::Deposit", [("amount", INT64)]), INT64), ...])])
    with Client("tcp://127.0.0.1:7001", schema, cluster_secret=b"...") as c:
        print(c.call("account", "alice", 0, [100]))   # message index 0: Deposit{100}
"""

import itertools
import struct as _struct

import msgpack
import zmq

PROTOCOL_VERSION = 2
KIND_CALL, KIND_CAST, KIND_REPLY, KIND_ERROR, KIND_CONTROL, KIND_BATCH = range(6)

# mesh::errc (docs/wire.md section 3).
ERRC = {0: "ok", 1: "no_nodes", 2: "timeout", 3: "node_unreachable", 4: "actor_failed",
        5: "rebalancing", 6: "schema_mismatch", 7: "bad_message", 8: "unauthorized",
        9: "shutting_down", 10: "overloaded", 11: "not_found", 12: "already_exists",
        13: "type_mismatch", 14: "invalid_argument", 15: "too_large", 16: "rejected"}


class MeshError(Exception):
    """An error frame (or a local failure such as a timeout): `code` is the errc name."""

    def __init__(self, code, text):
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text


# ---- schema fingerprint (docs/wire.md section 4) ------------------------------------------

class _Hasher:
    """64-bit FNV-1a over tokens (bytes + NUL) and numbers (8 bytes, little endian)."""

    def __init__(self):
        self.h = 0xCBF29CE484222325

    def bytes(self, data):
        for b in data:
            self.h ^= b
            self.h = (self.h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        return self

    def token(self, s):
        return self.bytes(s.encode() + b"\0")

    def number(self, n):
        return self.bytes(_struct.pack("<Q", n))


# Type descriptions: how a C++ type contributes its structural signature.
BOOL = ("bool",)
STR = ("str",)
VOID = ("void",)
INT8, INT16, INT32, INT64 = (("int", n) for n in (1, 2, 4, 8))
UINT8, UINT16, UINT32, UINT64 = (("uint", n) for n in (1, 2, 4, 8))
FLOAT, DOUBLE = ("float", 4), ("float", 8)
NO_INIT = ("tag", "mesh::no_init")


def vec(t): return ("vec", t)
def opt(t): return ("opt", t)
def mapping(k, v): return ("map", k, v)
def array(n, t): return ("arr", n, t)
def tup(*ts): return ("tuple",) + ts
def tag(cpp_name): return ("tag", cpp_name)
def enum(cpp_name, underlying): return ("enum", cpp_name, underlying)


def struct(cpp_name, fields):
    """A reflected struct: its qualified C++ name as the compiler spells it, and (name, type) fields."""
    return ("struct", cpp_name, tuple(fields))


def _signature(h, t):
    k = t[0]
    if k in ("bool", "str", "void"):
        h.token(k)
    elif k in ("int", "uint", "float"):
        h.token(k).number(t[1])
    elif k in ("vec", "opt"):
        h.token(k)
        _signature(h, t[1])
    elif k == "map":
        h.token("map")
        _signature(h, t[1])
        _signature(h, t[2])
    elif k == "arr":
        h.token("arr").number(t[1])
        _signature(h, t[2])
    elif k == "tuple":
        h.token("tuple").number(len(t) - 1)
        for e in t[1:]:
            _signature(h, e)
    elif k == "enum":
        h.token("enum").token(t[1])
        _signature(h, t[2])
    elif k == "tag":
        h.token("tag").token(t[1])
    elif k == "struct":
        h.token("struct").token(t[1])
        for name, ft in t[2]:
            h.token(name)
            _signature(h, ft)
        h.token("end")
    else:
        raise ValueError(f"unknown type description {t!r}")


class Actor:
    """An actor type: name, capability name, [(message type, reply type)] in `messages` order."""

    def __init__(self, name, capability, messages, init_arg=NO_INIT):
        self.name, self.capability, self.messages, self.init_arg = name, capability, messages, init_arg


class Schema:
    def __init__(self, actors):
        self.actors = actors

    def fingerprint(self):
        h = _Hasher().token("mesh-schema").number(len(self.actors))
        for a in self.actors:
            h.token("actor").token(a.name).token(a.capability)
            _signature(h, a.init_arg)
            h.number(len(a.messages))
            for msg, reply in a.messages:
                h.token("msg")
                _signature(h, msg)
                h.token("reply")
                _signature(h, reply)
        return h.h


# ---- the client ----------------------------------------------------------------------------

def _answers(parts):
    """The answer frames in one ZeroMQ message (itself, or the frames of a batch), as
    (header, decoded body parts)."""
    header = msgpack.unpackb(parts[0], raw=False)
    if header[1] != KIND_BATCH:
        yield header, [msgpack.unpackb(p, raw=False) for p in parts[1:]]
        return
    u = msgpack.Unpacker(raw=False)
    u.feed(msgpack.unpackb(parts[1], raw=False))  # a bin: the frames back to back
    for _ in range(header[3]):
        h = u.unpack()
        yield h, [u.unpack()] if h[1] in (KIND_REPLY, KIND_CONTROL) else []


class Client:
    """Calls actors on one node. Not thread-safe (one socket)."""

    def __init__(self, endpoint, schema, cluster_secret=None, timeout_ms=5000):
        self.fingerprint = schema.fingerprint()
        self.timeout_ms = timeout_ms
        self._ids = itertools.count(1)
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        if cluster_secret is not None:  # docs/security.md: the secret is a CURVE secret key
            secret = cluster_secret.encode() if isinstance(cluster_secret, str) else cluster_secret
            public = zmq.curve_public(secret)
            self._sock.curve_secretkey = secret
            self._sock.curve_publickey = public
            self._sock.curve_serverkey = public
        self._sock.connect(endpoint)

    def close(self):
        self._sock.close(0)
        self._ctx.term()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _request(self, kind, actor, actor_id, message_index, payload, init_arg, timeout_ms):
        rid = next(self._ids)
        header = [PROTOCOL_VERSION, kind, rid, self.fingerprint, actor, actor_id, message_index,
                  timeout_ms if kind == KIND_CALL else 0, init_arg is not None]
        parts = [msgpack.packb(header), msgpack.packb(payload)]
        if init_arg is not None:
            parts.append(msgpack.packb(init_arg))
        self._sock.send_multipart(parts)
        return rid

    def cast(self, actor, actor_id, message_index, payload, init_arg=None):
        self._request(KIND_CAST, actor, actor_id, message_index, payload, init_arg, 0)

    def call(self, actor, actor_id, message_index, payload, init_arg=None, timeout_ms=None):
        """Returns (value, node): the decoded reply body (None for a void handler) and the name of
        the node that ran it. Raises MeshError for an error frame or when the deadline passes."""
        timeout_ms = timeout_ms or self.timeout_ms
        rid = self._request(KIND_CALL, actor, actor_id, message_index, payload, init_arg, timeout_ms)
        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        while True:
            if not poller.poll(timeout_ms):
                raise MeshError("timeout", f"no answer to request {rid} within {timeout_ms} ms")
            for h, body in _answers(self._sock.recv_multipart()):
                if h[2] != rid:
                    continue  # an answer to an earlier call that timed out here
                if h[1] == KIND_ERROR:
                    raise MeshError(ERRC.get(h[3], f"unknown({h[3]})"), h[4])
                if h[1] == KIND_REPLY:
                    return body[0], h[3]
