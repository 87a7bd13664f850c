// The runner shared by the Node.js scripts of the client conformance suite
// (internal/itest/clients_test.go). A script calls run() with one async
// function per step; run prints "PASS step" or "FAIL step: reason" for each,
// in the order of STEPS, and exits 0. A step that takes longer than
// STEP_TIMEOUT_MS fails. When "connect" fails, every later step fails
// without running: what a client does after a failed handshake (retry in
// the background, queue commands) is not a result.

// STEPS is the order of the steps; internal/itest/clients_test.go has the
// same list.
export const STEPS = [
  "connect", "set-get", "set-ex", "ttl", "mset-mget", "del", "pipeline",
  "multi-exec", "watch", "scan", "pubsub", "dget", "error",
];

const STEP_TIMEOUT_MS = 10000;

// args returns the command line: mode, target, key prefix, addresses.
export function args() {
  const [mode, target, prefix, addrs] = process.argv.slice(2);
  if (!addrs) {
    console.error("usage: node SCRIPT MODE TARGET PREFIX HOST:PORT[,HOST:PORT...]");
    process.exit(2);
  }
  const list = addrs.split(",").map((a) => {
    const i = a.lastIndexOf(":");
    return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
  });
  // tag keeps the keys of a multi-key step in one hash slot, as a Redis
  // Cluster client requires.
  return { mode, target, prefix, tag: `{${prefix}}`, addrs: list };
}

// eq throws unless got and want are deeply equal.
export function eq(got, want, what) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what}: got ${g}, want ${w}`);
}

// check throws unless cond holds.
export function check(cond, what) {
  if (!cond) throw new Error(what);
}

// dget checks the custom-command step: on dynkv, DGET of a key holding
// "v" replies [context, ["v"]]; on redis-server, which has no DGET, the
// library surfaces the server's unknown-command error.
export async function dget(target, call) {
  let reply;
  try {
    reply = await call();
  } catch (e) {
    if (target === "redis-server" && /unknown command/i.test(String(e.message))) return;
    throw e;
  }
  if (target === "redis-server") throw new Error(`redis-server answered DGET: ${JSON.stringify(reply)}`);
  check(Array.isArray(reply) && reply.length === 2, `DGET reply ${JSON.stringify(reply)}: want [context, values]`);
  check(typeof reply[0] === "string" && /^[A-Za-z0-9_-]+$/.test(reply[0]), `DGET context ${JSON.stringify(reply[0])}`);
  eq(reply[1], ["v"], "DGET values");
}

// arityError checks the error step: a reply error for a command with the
// wrong number of arguments.
export function arityError(e) {
  check(e && /wrong number of arguments/i.test(String(e.message)), `want an arity error, got ${e}`);
}

function withTimeout(p, ms) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function oneLine(e) {
  const s = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return s.replace(/\s+/g, " ").slice(0, 300);
}

// run runs the steps in order and exits 0. cleanup (optional) closes the
// clients; it is bounded, since the point is the lines printed.
export async function run(steps, cleanup) {
  // A library may reject a promise nobody awaits (a reconnect, a
  // subscriber): report it, never crash on it.
  process.on("unhandledRejection", (e) => console.error(`unhandled rejection: ${oneLine(e)}`));
  let connected = true;
  for (const name of STEPS) {
    const fn = steps[name];
    try {
      if (!connected) throw new Error("not run: connect failed");
      if (!fn) throw new Error("not implemented by this script");
      await withTimeout(Promise.resolve().then(fn), STEP_TIMEOUT_MS);
      console.log(`PASS ${name}`);
    } catch (e) {
      console.log(`FAIL ${name}: ${oneLine(e)}`);
      if (name === "connect") connected = false;
    }
  }
  if (cleanup) {
    try {
      await withTimeout(Promise.resolve().then(cleanup), 2000);
    } catch (e) {
      console.error(`cleanup: ${oneLine(e)}`);
    }
  }
  process.exit(0);
}
