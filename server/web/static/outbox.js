// The outbox: the messages typed on this page that the server has not
// answered yet. They leave in the order typed, one at a time per room, each
// with its client_id, so a retry can never reorder them and a repeat is
// stored once. A 429 holds the line (and the room's queue behind it) for
// its Retry-After; an unreachable server or a 5xx holds it with a capped
// backoff, and the connection's return sends it at once. Only a refusal a
// retry cannot fix marks a line failed. The outbox is kept per nick in
// localStorage, so a reload sends what was still waiting.

import { api, roomPath } from "./api.js";
import { humanError } from "./errors.js";

const STORE_PREFIX = "outbox:";
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 10000;

// A line's state:
//   queued   waiting its turn
//   sending  its POST is on its way
//   waiting  the server could not be reached (or failed): retried at retryAt
//   limited  refused as too fast: retried at retryAt, the server's Retry-After
//   sent     stored; shown pending until its echo comes
//   failed   refused for good (error says why); Retry or Discard
const RETRIED = new Set(["queued", "waiting", "limited"]);

let nick = null;
let gen = 0; // bumped when a session starts or ends; a worker that finds it changed stops
let lines = []; // every line not yet shown as stored, in the order typed
const busy = new Map(); // room -> gen of the session whose worker runs for it
const sleepers = new Map(); // room -> {timer, wake} of a worker waiting for a retry

// changed is called after a line's state changed or it left the outbox
// (removed true); the composer draws it.
let changed = (line, removed) => {};

export function onChange(fn) {
  changed = fn;
}

// start loads n's outbox from this browser and sends what it holds.
export function start(n) {
  stop();
  nick = n;
  gen++;
  lines = load();
  for (const room of new Set(lines.map((l) => l.room))) pump(room);
}

// stop ends the session's sending; what is unsent stays stored for the
// next sign-in of the same nick.
export function stop() {
  gen++;
  nick = null;
  lines = [];
  for (const s of sleepers.values()) {
    clearTimeout(s.timer);
    s.wake();
  }
  sleepers.clear();
}

// forRoom returns room's lines in the order typed.
export function forRoom(room) {
  return lines.filter((l) => l.room === room);
}

// add queues text (kind "text" or "action") for room under a new client_id
// and returns its line.
export function add(room, text, kind) {
  const line = { cid: newClientID(), room, text, kind, state: "queued", error: "", retryAt: 0, tries: 0 };
  lines.push(line);
  save();
  changed(line, false);
  pump(room);
  return line;
}

// has reports whether the line with client_id cid is still in the outbox.
export function has(cid) {
  return lines.some((l) => l.cid === cid);
}

// confirm drops the line with client_id cid: the page shows it as stored.
export function confirm(cid) {
  const line = lines.find((l) => l.cid === cid);
  if (line) remove(line);
}

// retry puts a failed line back in its place in the queue.
export function retry(cid) {
  const line = lines.find((l) => l.cid === cid);
  if (!line || line.state !== "failed") return;
  line.state = "queued";
  line.error = "";
  line.retryAt = 0;
  line.tries = 0;
  save();
  changed(line, false);
  pump(line.room);
}

// discard drops a failed line without sending it.
export function discard(cid) {
  const line = lines.find((l) => l.cid === cid);
  if (line && line.state === "failed") remove(line);
}

// wake retries at once the lines held because the server could not be
// reached: the connection is back. Lines held by a Retry-After keep
// waiting for it.
export function wake() {
  for (const l of lines) {
    if (l.state === "waiting") l.retryAt = 0;
  }
  for (const s of sleepers.values()) {
    clearTimeout(s.timer);
    s.wake();
  }
}

// The browser saying it is online again is as good a sign as the stream's.
window.addEventListener("online", wake);

function remove(line) {
  lines = lines.filter((l) => l !== line);
  save();
  changed(line, true);
}

// pump sends room's lines one at a time, in the order typed, until none is
// left to send. One runs per room at a time.
async function pump(room) {
  const g = gen;
  if (busy.get(room) === g) return;
  busy.set(room, g);
  try {
    for (;;) {
      if (g !== gen) return;
      const line = lines.find((l) => l.room === room && RETRIED.has(l.state));
      if (!line) return;
      const wait = line.retryAt - Date.now();
      if (wait > 0) {
        await sleep(room, wait);
        continue;
      }
      line.state = "sending";
      changed(line, false);
      await send(line, g);
    }
  } finally {
    if (busy.get(room) === g) busy.delete(room);
  }
}

// send makes one attempt at line and leaves it in its next state.
async function send(line, g) {
  let m;
  try {
    m = await api("POST", roomPath(line.room) + "/messages", {
      text: line.text,
      kind: line.kind,
      client_id: line.cid,
    });
  } catch (e) {
    if (g !== gen || !lines.includes(line)) return;
    if (e.status === 401) {
      // The session ended (api.js has told app.js); the line stays
      // stored for the next sign-in.
      line.state = "queued";
      return;
    }
    if (e.status === 429) {
      line.state = "limited";
      line.retryAt = Date.now() + Math.max(1, e.retryAfter) * 1000;
    } else if (retryable(e.status)) {
      line.state = "waiting";
      const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** line.tries);
      line.tries++;
      line.retryAt = Date.now() + Math.max(backoff * (0.75 + Math.random() / 4), e.retryAfter * 1000);
    } else {
      line.state = "failed";
      line.error = humanError(e);
      save();
    }
    changed(line, false);
    return;
  }
  if (g !== gen || !lines.includes(line)) return; // its echo came first
  line.state = "sent";
  line.id = m && typeof m.id === "string" ? m.id : "";
  save();
  changed(line, false);
}

// retryable reports whether a failed send may succeed unchanged later: the
// server was not reached, timed out, or failed on its side.
function retryable(status) {
  return status === 0 || status === 408 || status >= 500;
}

// sleep waits ms, or until wake.
function sleep(room, ms) {
  return new Promise((resolve) => {
    const s = {
      wake: () => {
        if (sleepers.get(room) === s) sleepers.delete(room);
        resolve();
      },
    };
    s.timer = setTimeout(s.wake, ms);
    sleepers.set(room, s);
  });
}

// save keeps the lines the server has not stored, so a reload sends them.
// A line keeps its client_id: if its POST did reach the server, the resend
// answers with the stored message instead of storing it twice.
function save() {
  if (!nick) return;
  const keep = lines
    .filter((l) => l.state !== "sent")
    .map((l) => ({ cid: l.cid, room: l.room, text: l.text, kind: l.kind, error: l.state === "failed" ? l.error : "" }));
  try {
    if (keep.length) localStorage.setItem(STORE_PREFIX + nick, JSON.stringify(keep));
    else localStorage.removeItem(STORE_PREFIX + nick);
  } catch (e) {
    // Storage full or disabled: the outbox lasts as long as the page.
  }
}

function load() {
  let stored;
  try {
    stored = JSON.parse(localStorage.getItem(STORE_PREFIX + nick) || "[]");
  } catch (e) {
    return [];
  }
  if (!Array.isArray(stored)) return [];
  const out = [];
  for (const s of stored) {
    if (!s || typeof s.cid !== "string" || typeof s.room !== "string" || typeof s.text !== "string") continue;
    const failed = typeof s.error === "string" && s.error !== "";
    out.push({
      cid: s.cid,
      room: s.room,
      text: s.text,
      kind: s.kind === "action" ? "action" : "text",
      state: failed ? "failed" : "queued",
      error: failed ? s.error : "",
      retryAt: 0,
      tries: 0,
    });
  }
  return out;
}

// newClientID returns 22 random characters of [A-Za-z0-9_-]: 128 bits from
// the browser's CSPRNG, so a retry can reuse it and the server can tell a
// repeat from a new message.
function newClientID() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
