"""redis-py (Debian's python3-redis) with its default options, as a normal
client (mode "normal") or as RedisCluster (mode "cluster"). Usage:

    /usr/bin/python3 redispy.py MODE TARGET PREFIX HOST:PORT[,HOST:PORT...]

It prints one line per step, in the order of STEPS: "PASS step", "FAIL step:
reason", or "SKIP step: reason" where the library itself offers no way to
do the step in this mode. It exits 0. The steps and their meaning are those
of internal/itest/clients_test.go.
"""

import re
import signal
import sys

import redis
from redis.cluster import ClusterNode, RedisCluster

STEPS = [
    "connect", "set-get", "set-ex", "ttl", "mset-mget", "del", "pipeline",
    "multi-exec", "watch", "scan", "pubsub", "dget", "error",
]
STEP_TIMEOUT = 10  # seconds


class Skip(Exception):
    """The library offers no way to do the step in this mode."""


class Timeout(Exception):
    pass


def eq(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def one_line(e):
    return re.sub(r"\s+", " ", f"{type(e).__name__}: {e}")[:300]


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    mode, target, prefix, addrs = sys.argv[1:]
    addrs = [(a.rsplit(":", 1)[0], int(a.rsplit(":", 1)[1])) for a in addrs.split(",")]
    cluster = mode == "cluster"
    # tag keeps the keys of a multi-key step in one hash slot, as a Redis
    # Cluster client requires.
    tag = "{" + prefix + "}"
    state = {}

    def client():
        if cluster:
            return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in addrs])
        return redis.Redis(host=addrs[0][0], port=addrs[0][1])

    def connect():
        state["r"] = client()
        check(state["r"].ping() is True, "PING")

    def set_get():
        r = state["r"]
        check(r.set(f"{prefix}k", "v") is True, "SET")
        eq(r.get(f"{prefix}k"), b"v", "GET")
        eq(r.get(f"{prefix}missing"), None, "GET of a missing key")

    def set_ex():
        r = state["r"]
        check(r.set(f"{prefix}ex", "v", ex=100) is True, "SET EX")
        eq(r.get(f"{prefix}ex"), b"v", "GET")

    def ttl():
        t = state["r"].ttl(f"{prefix}ex")
        check(0 < t <= 100, f"TTL {t}: want 1..100")

    def mset_mget():
        r = state["r"]
        check(r.mset({f"{tag}a": "1", f"{tag}b": "2"}) is True, "MSET")
        eq(r.mget([f"{tag}a", f"{tag}missing", f"{tag}b"]), [b"1", None, b"2"], "MGET")

    def delete():
        r = state["r"]
        eq(r.delete(f"{tag}a", f"{tag}b", f"{tag}missing"), 2, "DEL")
        eq(r.get(f"{tag}a"), None, "GET after DEL")

    def pipeline():
        # The default pipeline: a transaction (MULTI/EXEC) on a normal
        # client, a plain pipeline on RedisCluster.
        p = state["r"].pipeline()
        p.set(f"{tag}p", "1")
        p.append(f"{tag}p", "2")
        p.get(f"{tag}p")
        eq(p.execute(), [True, 2, b"12"], "pipeline results")

    def multi_exec():
        if cluster:
            raise Skip("RedisCluster has no transactions (pipeline(transaction=True) raises)")
        p = state["r"].pipeline(transaction=True)
        p.multi()
        p.set(f"{tag}m", "1")
        p.append(f"{tag}m", "2")
        p.get(f"{tag}m")
        eq(p.execute(), [True, 2, b"12"], "MULTI/EXEC results")

    def watch():
        if cluster:
            raise Skip("RedisCluster's pipeline has no WATCH")
        r = state["r"]
        key = f"{tag}w"
        check(r.set(key, "1") is True, "SET")
        other = client()
        try:
            with r.pipeline() as p:
                p.watch(key)
                check(other.set(key, "2") is True, "SET by another client")
                p.multi()
                p.set(key, "3")
                try:
                    p.execute()
                    raise AssertionError("EXEC after a watched key changed did not abort")
                except redis.WatchError:
                    pass
        finally:
            other.close()
        eq(r.get(key), b"2", "GET after the aborted transaction")

    def scan():
        r = state["r"]
        want = []
        for i in range(5):
            want.append(f"{prefix}scan:{i}".encode())
            r.set(f"{prefix}scan:{i}", "v")
        got = set(r.scan_iter(match=f"{prefix}scan:*", count=100))
        eq(sorted(got), want, "keys scanned")

    def pubsub():
        r = state["r"]
        channel = f"{prefix}channel"
        p = r.pubsub()
        try:
            p.subscribe(channel)
            msg = p.get_message(timeout=5)
            check(msg is not None and msg["type"] == "subscribe", f"subscribe confirmation: {msg!r}")
            receivers = r.publish(channel, "hello")
            if not cluster:  # a cluster counts the receivers of one node
                eq(receivers, 1, "PUBLISH receivers")
            msg = p.get_message(timeout=5)
            check(msg is not None, "no message within 5s")
            eq((msg["type"], msg["channel"], msg["data"]), ("message", channel.encode(), b"hello"), "message")
        finally:
            p.close()

    def dget():
        r = state["r"]
        key = f"{prefix}dget"
        check(r.set(key, "v") is True, "SET")
        try:
            reply = r.execute_command("DGET", key)
        except redis.ResponseError as e:
            if target == "redis-server" and "unknown command" in str(e).lower():
                return
            raise
        check(target != "redis-server", f"redis-server answered DGET: {reply!r}")
        check(isinstance(reply, list) and len(reply) == 2, f"DGET reply {reply!r}: want [context, values]")
        check(isinstance(reply[0], bytes) and re.fullmatch(rb"[A-Za-z0-9_-]+", reply[0]), f"DGET context {reply[0]!r}")
        eq(reply[1], [b"v"], "DGET values")

    def error():
        r = state["r"]
        try:
            r.execute_command("GET", f"{prefix}k", "extra")
            raise AssertionError("GET with two arguments did not fail")
        except redis.ResponseError as e:
            check("wrong number of arguments" in str(e), f"want an arity error, got {e}")
        check(r.ping() is True, "PING after the error")

    steps = {
        "connect": connect, "set-get": set_get, "set-ex": set_ex, "ttl": ttl,
        "mset-mget": mset_mget, "del": delete, "pipeline": pipeline,
        "multi-exec": multi_exec, "watch": watch, "scan": scan,
        "pubsub": pubsub, "dget": dget, "error": error,
    }

    def on_alarm(signum, frame):
        raise Timeout(f"timed out after {STEP_TIMEOUT}s")

    signal.signal(signal.SIGALRM, on_alarm)
    connected = True
    for name in STEPS:
        try:
            if not connected:
                raise RuntimeError("not run: connect failed")
            signal.alarm(STEP_TIMEOUT)
            try:
                steps[name]()
            finally:
                signal.alarm(0)
            print(f"PASS {name}", flush=True)
        except Skip as e:
            print(f"SKIP {name}: {e}", flush=True)
        except Exception as e:  # every failure is a result, reported
            print(f"FAIL {name}: {one_line(e)}", flush=True)
            if name == "connect":
                connected = False
    if "r" in state:
        try:
            state["r"].close()
        except Exception as e:
            print(f"close: {one_line(e)}", file=sys.stderr)
    sys.exit(0)


if __name__ == "__main__":
    main()
