// The /view/{room} page: a read-only wall display of one room. It shows
// the newest messages in large type and follows the room's stream,
// scrolling by itself. A public_read room needs no session; a room the
// visitor cannot read is shown exactly as a missing one, because the API
// answers both alike.

import { api, roomPath } from "./api.js";
import { byId, make } from "./dom.js";
import { compare } from "./ids.js";

const ROOM_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const FIRST_PAGE = 50; // messages shown at load
const KEEP = 300; // messages kept on the wall; older ones scroll away for good

const roomTitle = byId("wall-room");
const topicLine = byId("wall-topic");
const status = byId("wall-state");
const scroller = byId("wall-scroller");
const list = byId("wall-messages");
const notice = byId("wall-notice");

let room = "";
try {
  room = decodeURIComponent(location.pathname.slice("/view/".length));
} catch (e) {
  room = "";
}

let es = null;
let newest = ""; // the newest message id on the wall
let failures = 0;
let timer = 0;
let ended = false;

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

// end stops following the room for good and says why.
function end(text, link) {
  ended = true;
  clearTimeout(timer);
  if (es) {
    es.close();
    es = null;
  }
  setStatus("offline", "Not connected");
  notice.replaceChildren(text);
  if (link) {
    const a = make("a", "", "Sign in");
    a.href = "/#" + encodeURIComponent(room);
    notice.append(" ", a);
  }
  notice.hidden = false;
}

function missing() {
  end("There is no room #" + room + ".");
}

function signInNeeded() {
  end("Sign in to follow this room.", true);
}

function backoff(n) {
  const base = Math.min(30000, 1000 * 2 ** Math.min(n, 5));
  return base / 2 + Math.random() * (base / 2);
}

function add(m) {
  if (!m || typeof m.id !== "string" || typeof m.nick !== "string") return;
  if (newest && compare(m.id, newest) <= 0) return;
  newest = m.id;
  if (m.kind === "deleted") return;
  const li = make("li", "wall-msg");
  li.dataset.id = m.id;
  if (m.kind === "action") {
    li.classList.add("action");
    li.append(make("span", "text", "* " + m.nick + " " + (m.text || "")));
  } else {
    li.append(make("span", "author", m.nick), make("span", "text", typeof m.text === "string" ? m.text : ""));
  }
  list.append(li);
  while (list.children.length > KEEP) list.firstElementChild.remove();
}

function scrollDown() {
  scroller.scrollTop = scroller.scrollHeight;
}

function parseData(ev) {
  try {
    return JSON.parse(ev.data);
  } catch (e) {
    return null;
  }
}

// load reads the newest page (or what came after the newest shown), then
// follows the stream from there.
async function load() {
  if (ended) return;
  let q = "?limit=" + FIRST_PAGE;
  if (newest) q = "?after=" + encodeURIComponent(newest) + "&limit=" + FIRST_PAGE;
  let data;
  try {
    data = await api("GET", roomPath(room) + "/messages" + q, undefined, { login: true });
  } catch (e) {
    if (e.status === 404) return missing();
    if (e.status === 401) return signInNeeded();
    setStatus("offline", "Offline, retrying…");
    timer = setTimeout(load, backoff(failures++));
    return;
  }
  for (const m of (data && Array.isArray(data.messages) ? data.messages : [])) add(m);
  scrollDown();
  connect();
}

function connect() {
  if (ended) return;
  let url = roomPath(room) + "/events";
  if (newest) url += "?last_event_id=" + encodeURIComponent(newest);
  const source = new EventSource(url);
  es = source;
  const live = () => source === es && !ended;

  source.addEventListener("welcome", () => {
    if (!live()) return;
    failures = 0;
    setStatus("connected", "Live");
  });
  source.addEventListener("message", (ev) => {
    if (!live()) return;
    add(parseData(ev));
    scrollDown();
  });
  source.addEventListener("edit", (ev) => {
    const e = parseData(ev);
    if (!live() || !e || typeof e.message_id !== "string") return;
    const li = list.querySelector('li[data-id="' + CSS.escape(e.message_id) + '"] .text');
    if (li && typeof e.text === "string") li.textContent = e.text;
  });
  source.addEventListener("delete", (ev) => {
    const e = parseData(ev);
    if (!live() || !e || typeof e.message_id !== "string") return;
    const li = list.querySelector('li[data-id="' + CSS.escape(e.message_id) + '"]');
    if (li) li.remove();
  });
  source.addEventListener("room", (ev) => {
    const r = parseData(ev);
    if (live() && r && typeof r.topic === "string") topicLine.textContent = r.topic;
  });
  source.addEventListener("removed", () => {
    // The room was deleted or made unreadable: the stream ends, and a
    // reconnect would only be refused.
    if (live()) missing();
  });
  source.addEventListener("reset", () => {
    if (!live()) return;
    source.close();
    es = null;
    newest = "";
    list.replaceChildren();
    load();
  });
  source.addEventListener("error", () => {
    if (!live()) return;
    if (source.readyState !== EventSource.CLOSED) {
      setStatus("connecting", "Reconnecting…");
      return;
    }
    // The browser gave up: an HTTP error instead of a stream, which
    // EventSource does not show. Ask the stream itself for its status (and
    // drop the answer at once): a 401 means this server streams the room
    // only to a session, a 404 that the room is gone.
    source.close();
    es = null;
    setStatus("offline", "Offline, retrying…");
    streamStatus(url).then((code) => {
      if (ended) return;
      if (code === 401) return signInNeeded();
      if (code === 404) return missing();
      timer = setTimeout(load, backoff(failures++));
    });
  });
}

// streamStatus opens url, reads the status of the answer and aborts it
// before any event is read; 0 when the server cannot be reached.
async function streamStatus(url) {
  const ctl = new AbortController();
  try {
    const res = await fetch(url, { credentials: "same-origin", cache: "no-store", signal: ctl.signal });
    return res.status;
  } catch (e) {
    return 0;
  } finally {
    ctl.abort();
  }
}

roomTitle.textContent = "#" + room;
document.title = "#" + room + " · chat";
if (ROOM_RE.test(room)) load();
else missing();
