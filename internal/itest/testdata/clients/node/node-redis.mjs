// node-redis with its default options. MODE names the package: "redis6"
// (node-redis 6) or "redis4" (node-redis 4), both installed under these
// aliases (package.json). Usage:
//
//	node node-redis.mjs MODE TARGET PREFIX HOST:PORT
//
// It prints one PASS or FAIL line per step (steps.mjs) and exits 0.
import { args, arityError, check, dget, eq, run } from "./steps.mjs";

const { mode, target, prefix, tag, addrs } = args();
if (mode !== "redis6" && mode !== "redis4") {
  console.error(`node-redis.mjs: mode ${mode}: want redis6 or redis4`);
  process.exit(2);
}
const { createClient } = await import(mode);

const url = `redis://${addrs[0].host}:${addrs[0].port}`;
const client = createClient({ url });
const clients = [client];
client.on("error", (e) => console.error(`node-redis error event: ${e.message}`));

async function another() {
  const c = client.duplicate();
  c.on("error", (e) => console.error(`node-redis error event: ${e.message}`));
  clients.push(c);
  await c.connect();
  return c;
}

// aborted reports whether EXEC's outcome is the library's way of saying a
// watched key changed: a null reply, or a WatchError.
async function aborted(exec) {
  try {
    const res = await exec;
    return res === null;
  } catch (e) {
    if (e && (e.name === "WatchError" || e.constructor?.name === "WatchError")) return true;
    throw e;
  }
}

await run({
  async connect() {
    // The first error event fails the step with its reason, rather than a
    // timeout while the client retries in the background.
    const failed = new Promise((_, reject) => client.once("error", reject));
    await Promise.race([client.connect(), failed]);
    eq(await client.ping(), "PONG", "PING");
  },
  async "set-get"() {
    eq(await client.set(`${prefix}k`, "v"), "OK", "SET");
    eq(await client.get(`${prefix}k`), "v", "GET");
    eq(await client.get(`${prefix}missing`), null, "GET of a missing key");
  },
  async "set-ex"() {
    eq(await client.set(`${prefix}ex`, "v", { EX: 100 }), "OK", "SET EX");
    eq(await client.get(`${prefix}ex`), "v", "GET");
  },
  async ttl() {
    const ttl = await client.ttl(`${prefix}ex`);
    check(ttl > 0 && ttl <= 100, `TTL ${ttl}: want 1..100`);
  },
  async "mset-mget"() {
    eq(await client.mSet([`${tag}a`, "1", `${tag}b`, "2"]), "OK", "MSET");
    eq(await client.mGet([`${tag}a`, `${tag}missing`, `${tag}b`]), ["1", null, "2"], "MGET");
  },
  async del() {
    eq(await client.del([`${tag}a`, `${tag}b`, `${tag}missing`]), 2, "DEL");
    eq(await client.get(`${tag}a`), null, "GET after DEL");
  },
  async pipeline() {
    const res = await client.multi().set(`${tag}p`, "1").append(`${tag}p`, "2").get(`${tag}p`).execAsPipeline();
    eq(res, ["OK", 2, "12"], "pipeline results");
  },
  async "multi-exec"() {
    const res = await client.multi().set(`${tag}m`, "1").append(`${tag}m`, "2").get(`${tag}m`).exec();
    eq(res, ["OK", 2, "12"], "MULTI/EXEC results");
  },
  async watch() {
    const key = `${tag}w`;
    eq(await client.set(key, "1"), "OK", "SET");
    eq(await client.watch(key), "OK", "WATCH");
    const other = await another();
    eq(await other.set(key, "2"), "OK", "SET by another client");
    check(await aborted(client.multi().set(key, "3").exec()), "EXEC after a watched key changed did not abort");
    eq(await client.get(key), "2", "GET after the aborted transaction");
  },
  async scan() {
    const want = [];
    for (let i = 0; i < 5; i++) {
      want.push(`${prefix}scan:${i}`);
      await client.set(`${prefix}scan:${i}`, "v");
    }
    const got = new Set();
    // node-redis 4 yields keys, 5 and later batches of keys.
    for await (const item of client.scanIterator({ MATCH: `${prefix}scan:*`, COUNT: 100 })) {
      for (const k of [item].flat()) got.add(k);
    }
    eq([...got].sort(), want, "keys scanned");
  },
  async pubsub() {
    const channel = `${prefix}channel`;
    const sub = await another();
    let deliver;
    const received = new Promise((resolve) => { deliver = resolve; });
    await sub.subscribe(channel, (message, ch) => deliver([ch, message]));
    eq(await client.publish(channel, "hello"), 1, "PUBLISH receivers");
    eq(await received, [channel, "hello"], "message");
  },
  async dget() {
    const key = `${prefix}dget`;
    eq(await client.set(key, "v"), "OK", "SET");
    await dget(target, () => client.sendCommand(["DGET", key]));
  },
  async error() {
    let err;
    try {
      await client.sendCommand(["GET", `${prefix}k`, "extra"]);
    } catch (e) {
      err = e;
    }
    arityError(err);
    eq(await client.ping(), "PONG", "PING after the error");
  },
}, () => Promise.all(clients.map((c) => (c.destroy ? c.destroy() : c.disconnect()))));
