// The connection of the open room: its newest history page first, then
// one EventSource from the newest message loaded, and what keeps the two
// joined without a gap or a duplicate.
//
// Once open, the browser reconnects by itself with Last-Event-ID (which the
// server prefers to the query parameter) and the server replays what was
// missed. When the browser gives up (an HTTP error instead of a stream)
// this module asks why and starts a new stream from the newest message
// shown. A reset (the resume point is too far back, or gone) reloads the
// newest page and starts again from there.

import { api, roomPath } from "./api.js";
import { byId } from "./dom.js";
import { update as updateLimits } from "./limits.js";
import * as messages from "./messages.js";
import * as presence from "./presence.js";
import * as rooms from "./rooms.js";
import * as session from "./session.js";

const status = byId("conn-state");

let room = null;
let gen = 0; // bumped when the room's connection is replaced; stale callbacks check it
let es = null; // the EventSource, while one is open or opening
let failures = 0; // attempts since the last welcome, for the backoff
let timer = 0; // the retry waiting to run
let connectedOnce = false;

// What other modules do about the connection, set once by app.js.
const hooks = {
  connected: () => {}, // the server answers again: the outbox sends now
  removed: (room, by) => {}, // the caller lost the room: close it
};

export function wire(h) {
  Object.assign(hooks, h);
}

// open shows room: the newest page of its history, then its stream.
export function open(r) {
  close();
  room = r;
  connectedOnce = false;
  failures = 0;
  setStatus("connecting", "Connecting…");
  load(gen);
}

// close ends the open room's connection, and everything it has waiting.
export function close() {
  gen++;
  stopStream();
}

// streaming reports whether a stream is open or opening, which is when
// typing notices are worth sending.
export function streaming() {
  return es !== null;
}

function stopStream() {
  clearTimeout(timer);
  timer = 0;
  if (es) {
    es.close();
    es = null;
  }
}

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

function backoff(n) {
  const base = Math.min(30000, 1000 * 2 ** Math.min(n, 5));
  return base / 2 + Math.random() * (base / 2);
}

// load reads the newest page, then connects from it; on failure it tries
// again after a backoff, unless the room or the session is gone.
async function load(g) {
  try {
    if (!(await messages.loadNewest())) return;
  } catch (e) {
    if (g !== gen || e.status === 401) return;
    if (e.status === 404) {
      setStatus("offline", "Not connected");
      return;
    }
    setStatus("offline", "Offline");
    timer = setTimeout(() => {
      if (g === gen) load(g);
    }, backoff(failures++));
    return;
  }
  if (g !== gen) return;
  connect();
  messages.fillViewport();
}

function parseData(ev) {
  try {
    return JSON.parse(ev.data);
  } catch (e) {
    return null;
  }
}

// connect opens the room's stream from the newest message shown.
function connect() {
  stopStream();
  const g = gen;
  let url = roomPath(room) + "/events";
  const from = messages.newestID();
  if (from) url += "?last_event_id=" + encodeURIComponent(from);
  setStatus("connecting", connectedOnce ? "Reconnecting…" : "Connecting…");
  const source = new EventSource(url);
  es = source;
  const live = () => source === es && g === gen;

  source.addEventListener("welcome", (ev) => {
    if (!live()) return;
    const w = parseData(ev);
    if (!w) return;
    updateLimits(w.limits);
    failures = 0;
    connectedOnce = true;
    setStatus("connected", "Connected");
    hooks.connected();
    presence.setOnline(w.online);
    // Without a resume point the stream carries only live messages: fetch
    // whatever arrived between our history request and the subscription.
    if (!from && typeof w.last_id === "string") messages.catchUp(w.last_id);
  });

  source.addEventListener("message", (ev) => {
    if (!live()) return;
    const m = parseData(ev);
    if (messages.addLive(m)) {
      presence.stoppedTyping(m.nick);
      rooms.saveSeenSoon();
    }
  });

  source.addEventListener("presence", (ev) => {
    if (!live()) return;
    const before = presence.online();
    const changes = presence.applyPresence(parseData(ev));
    const after = presence.online();
    for (const c of changes) {
      if (c.state === "leave") presence.stoppedTyping(c.nick);
      // A quiet line when someone comes or goes, not when they open or
      // close a second tab (a server of protocol version 1 announces those).
      if (c.nick === session.nick()) continue;
      if (c.state === "join" && !before.includes(c.nick)) messages.addNote(c.nick + " joined", "presence");
      if (c.state === "leave" && !after.includes(c.nick)) messages.addNote(c.nick + " left", "presence");
    }
  });

  source.addEventListener("typing", (ev) => {
    if (!live()) return;
    const t = parseData(ev);
    if (t) presence.typing(t.nick);
  });

  // room: someone changed the topic (an extension of the protocol; see
  // docs/api.md). The header shows it at once, as text.
  source.addEventListener("room", (ev) => {
    if (!live()) return;
    const r = parseData(ev);
    if (!r || r.room !== room || typeof r.topic !== "string") return;
    rooms.setTopic(r.room, r.topic);
    const who = typeof r.nick === "string" && r.nick ? r.nick : "Someone";
    messages.addNote(r.topic ? who + " set the topic: " + r.topic : who + " cleared the topic", "topic");
  });

  // removed: the caller lost the room (removed, left elsewhere, or the
  // room was deleted). The server ends the stream; it is not retried, as
  // the room now answers 404.
  source.addEventListener("removed", (ev) => {
    if (!live()) return;
    const r = parseData(ev) || {};
    const lost = room;
    stopStream();
    gen++;
    setStatus("offline", "Not connected");
    hooks.removed(lost, typeof r.by === "string" ? r.by : "", r.deleted === true);
  });

  source.addEventListener("reset", () => {
    if (!live()) return;
    // The resume point is gone: start over from the newest page. Pending
    // sends stay; the reload drops the ones that were stored.
    stopStream();
    gen++;
    messages.clear();
    load(gen);
  });

  source.addEventListener("error", () => {
    if (!live()) return;
    if (source.readyState === EventSource.CLOSED) {
      setStatus("offline", "Offline, retrying…");
      source.close();
      es = null;
      scheduleReconnect(g);
    } else {
      setStatus("connecting", "Reconnecting…");
    }
  });
}

// scheduleReconnect waits, asks the server why the stream was refused
// (EventSource does not say), and reconnects unless the session or room is
// gone.
function scheduleReconnect(g) {
  const wait = backoff(failures++);
  const secs = Math.max(1, Math.round(wait / 1000));
  setStatus("offline", "Offline, retrying in " + secs + " s");
  clearTimeout(timer);
  timer = setTimeout(async () => {
    if (g !== gen) return;
    try {
      await api("GET", roomPath(room) + "/members");
    } catch (e) {
      if (g !== gen || e.status === 401) return;
      if (e.status === 404) {
        setStatus("offline", "Not connected");
        messages.notice("The room #" + room + " no longer exists.");
        return;
      }
      if (e.status !== 429) {
        scheduleReconnect(g);
        return;
      }
    }
    if (g === gen) connect();
  }, wait);
}
