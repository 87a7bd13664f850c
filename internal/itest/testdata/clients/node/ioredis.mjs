// ioredis 6 with its default options, as a normal client (mode "normal")
// or as a Redis Cluster client (mode "cluster"). Usage:
//
//	node ioredis.mjs MODE TARGET PREFIX HOST:PORT[,HOST:PORT...]
//
// It prints one PASS or FAIL line per step (steps.mjs) and exits 0.
import { Redis, Cluster } from "ioredis";
import { args, arityError, check, dget, eq, run } from "./steps.mjs";

const { mode, target, prefix, tag, addrs } = args();
const cluster = mode === "cluster";

function connect() {
  const c = cluster ? new Cluster(addrs) : new Redis(addrs[0]);
  c.on("error", (e) => console.error(`ioredis error event: ${e.message}`));
  return c;
}

const redis = connect();
const clients = [redis];
function another() {
  const c = redis.duplicate();
  c.on("error", (e) => console.error(`ioredis error event: ${e.message}`));
  clients.push(c);
  return c;
}

await run({
  async connect() {
    eq(await redis.ping(), "PONG", "PING");
  },
  async "set-get"() {
    eq(await redis.set(`${prefix}k`, "v"), "OK", "SET");
    eq(await redis.get(`${prefix}k`), "v", "GET");
    eq(await redis.get(`${prefix}missing`), null, "GET of a missing key");
  },
  async "set-ex"() {
    eq(await redis.set(`${prefix}ex`, "v", "EX", 100), "OK", "SET EX");
    eq(await redis.get(`${prefix}ex`), "v", "GET");
  },
  async ttl() {
    const ttl = await redis.ttl(`${prefix}ex`);
    check(ttl > 0 && ttl <= 100, `TTL ${ttl}: want 1..100`);
  },
  async "mset-mget"() {
    eq(await redis.mset(`${tag}a`, "1", `${tag}b`, "2"), "OK", "MSET");
    eq(await redis.mget(`${tag}a`, `${tag}missing`, `${tag}b`), ["1", null, "2"], "MGET");
  },
  async del() {
    eq(await redis.del(`${tag}a`, `${tag}b`, `${tag}missing`), 2, "DEL");
    eq(await redis.get(`${tag}a`), null, "GET after DEL");
  },
  async pipeline() {
    const res = await redis.pipeline().set(`${tag}p`, "1").append(`${tag}p`, "2").get(`${tag}p`).exec();
    eq(res, [[null, "OK"], [null, 2], [null, "12"]], "pipeline results");
  },
  async "multi-exec"() {
    const res = await redis.multi().set(`${tag}m`, "1").append(`${tag}m`, "2").get(`${tag}m`).exec();
    eq(res, [[null, "OK"], [null, 2], [null, "12"]], "MULTI/EXEC results");
  },
  async watch() {
    const key = `${tag}w`;
    eq(await redis.set(key, "1"), "OK", "SET");
    eq(await redis.watch(key), "OK", "WATCH");
    eq(await another().set(key, "2"), "OK", "SET by another client");
    eq(await redis.multi().set(key, "3").exec(), null, "EXEC after a watched key changed");
    eq(await redis.get(key), "2", "GET after the aborted transaction");
  },
  async scan() {
    const want = [];
    for (let i = 0; i < 5; i++) {
      want.push(`${prefix}scan:${i}`);
      await redis.set(`${prefix}scan:${i}`, "v");
    }
    const nodes = cluster ? redis.nodes("master") : [redis];
    const got = new Set();
    for (const node of nodes) {
      for await (const keys of node.scanStream({ match: `${prefix}scan:*`, count: 100 })) {
        for (const k of keys) got.add(k);
      }
    }
    eq([...got].sort(), want, "keys scanned");
  },
  async pubsub() {
    const channel = `${prefix}channel`;
    const sub = another();
    const received = new Promise((resolve) => sub.on("message", (ch, msg) => resolve([ch, msg])));
    await sub.subscribe(channel);
    const receivers = await redis.publish(channel, "hello");
    // A cluster counts the receivers of the node it was published on.
    if (!cluster) eq(receivers, 1, "PUBLISH receivers");
    eq(await received, [channel, "hello"], "message");
  },
  async dget() {
    const key = `${prefix}dget`;
    eq(await redis.set(key, "v"), "OK", "SET");
    await dget(target, () => redis.call("DGET", key));
  },
  async error() {
    let err;
    try {
      await redis.call("GET", `${prefix}k`, "extra");
    } catch (e) {
      err = e;
    }
    arityError(err);
    eq(await redis.ping(), "PONG", "PING after the error");
  },
}, () => Promise.all(clients.map((c) => c.quit())));
