// The rooms list in the sidebar (a drawer on narrow screens), the open
// room's header, creating rooms, and the unread counts of the rooms that
// are not open. It polls the room list while signed in and remembers, per
// nick in localStorage, the newest message seen in each room.

import { api, roomPath, waitText } from "./api.js";
import { byId, make } from "./dom.js";
import { fetchPage } from "./history.js";
import { compare } from "./ids.js";
import * as session from "./session.js";

const ROOM_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const UNREAD_PAGE = 100; // unread counted up to this, shown as "N+" beyond
const ROOM_POLL_MS = 5000;

const roomsToggle = byId("rooms-toggle");
const roomsToggleUnread = byId("rooms-toggle-unread");
const roomName = byId("room-name");
const roomTopic = byId("room-topic");
const sidebar = byId("sidebar");
const roomList = byId("room-list");
const createForm = byId("create-room-form");
const createName = byId("create-room-name");
const createError = byId("create-room-error");

let current = null; // the open room
const rooms = new Map(); // name -> {topic, lastID, unread, more, countedFor}
let seen = {}; // room -> newest id the user has had on screen ("" for none)
let loaded = false; // the list has been read once since sign-in
let pollTimer = 0;
let seenTimer = 0;

// What other modules do for this one, set once by app.js.
const hooks = {
  open: (room) => {}, // show that room
  focusComposer: () => {},
};

export function wire(h) {
  Object.assign(hooks, h);
}

// valid reports whether name is a room name.
export function valid(name) {
  return ROOM_RE.test(name);
}

// fromHash returns the room the address names (#room), or "".
export function fromHash() {
  let r = "";
  try {
    r = decodeURIComponent(location.hash.slice(1));
  } catch (e) {
    return "";
  }
  return ROOM_RE.test(r) ? r : "";
}

// start begins a session's polling, with what this nick had seen on this
// browser before.
export function start() {
  try {
    seen = JSON.parse(localStorage.getItem("seen:" + session.nick()) || "{}") || {};
  } catch (e) {
    seen = {};
  }
  refresh();
}

// stop ends it at the end of a session.
export function stop() {
  clearTimeout(pollTimer);
  clearTimeout(seenTimer);
  current = null;
  rooms.clear();
  seen = {};
  loaded = false;
  roomList.replaceChildren();
}

// select marks room as the open one: nothing in it is unread any more.
export function select(room) {
  current = room;
  const entry = rooms.get(room);
  if (entry) {
    entry.unread = 0;
    entry.more = false;
  }
  render();
  renderHeader();
}

// markSeen records that the newest message shown in room is id.
export function markSeen(room, id) {
  if (room) seen[room] = id;
}

// saveSeenSoon stores what was seen a moment from now, so a burst of
// messages writes it once.
export function saveSeenSoon() {
  clearTimeout(seenTimer);
  seenTimer = setTimeout(saveSeen, 1000);
}

function saveSeen() {
  const nick = session.nick();
  if (!nick) return;
  try {
    localStorage.setItem("seen:" + nick, JSON.stringify(seen));
  } catch (e) {
    // Storage full or disabled: unread counts restart from now next time.
  }
}

// setTopic shows a room's new topic (set here, or announced by the stream).
export function setTopic(room, topic) {
  const entry = rooms.get(room);
  if (entry) entry.topic = topic;
  if (room === current) renderHeader();
}

// topic returns a room's topic as last heard, "" for none.
export function topic(room) {
  const entry = rooms.get(room);
  return entry && entry.topic ? entry.topic : "";
}

// join opens room, creating it first if it is missing (a PUT without a
// topic changes nothing of a room that exists). It throws the APIError of
// a refusal, with nothing opened.
export async function join(room) {
  await api("PUT", roomPath(room));
  if (!rooms.has(room)) {
    rooms.set(room, { topic: "", lastID: null, unread: 0, more: false, countedFor: null });
  }
  if (location.hash !== "#" + room) history.pushState(null, "", "#" + room);
  hooks.open(room);
  refresh();
}

// refresh reloads the room list and counts unread messages in the rooms
// that are not open. It runs every ROOM_POLL_MS while signed in.
export async function refresh() {
  clearTimeout(pollTimer);
  const me = session.nick();
  try {
    const data = await api("GET", "/api/rooms");
    if (session.nick() !== me) return;
    const names = new Set();
    for (const r of (data && data.rooms) || []) {
      if (typeof r.name !== "string") continue;
      names.add(r.name);
      const entry = rooms.get(r.name) || { unread: 0, more: false, countedFor: null };
      entry.topic = typeof r.topic === "string" ? r.topic : "";
      entry.lastID = typeof r.last_id === "string" ? r.last_id : null;
      rooms.set(r.name, entry);
      if (r.name === current) continue;
      const s = seen[r.name];
      if (s === undefined && !loaded) {
        // A room that existed before this sign-in and was never opened
        // here starts with nothing unread, not its whole history.
        seen[r.name] = entry.lastID || "";
        entry.unread = 0;
      } else if (s === undefined) {
        // A room made since: all of it is new to us.
        seen[r.name] = "";
        if (entry.lastID) countUnread(r.name, "", entry.lastID);
      } else if (
        entry.lastID &&
        entry.lastID !== entry.countedFor &&
        (s === "" || compare(entry.lastID, s) > 0)
      ) {
        countUnread(r.name, s, entry.lastID);
      } else if (!entry.lastID || (s !== "" && compare(entry.lastID, s) <= 0)) {
        entry.unread = 0;
        entry.more = false;
      }
    }
    for (const name of [...rooms.keys()]) {
      if (!names.has(name)) rooms.delete(name);
    }
    loaded = true;
    saveSeen();
    render();
    renderHeader();
  } catch (e) {
    // A failed poll changes nothing; the next one tries again.
  } finally {
    if (session.nick() === me && me !== null) {
      clearTimeout(pollTimer);
      pollTimer = setTimeout(refresh, ROOM_POLL_MS);
    }
  }
}

async function countUnread(room, since, lastID) {
  try {
    const page = await fetchPage(room, { after: since }, UNREAD_PAGE);
    const entry = rooms.get(room);
    if (!entry || room === current) return;
    entry.unread = page.messages.filter((m) => m.nick !== session.nick()).length;
    entry.more = page.hasMore && entry.unread > 0;
    entry.countedFor = lastID;
    render();
  } catch (e) {
    // Counted again at the next poll.
  }
}

function render() {
  const names = [...rooms.keys()].sort((a, b) =>
    a === "general" ? -1 : b === "general" ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  if (current && !rooms.has(current)) names.push(current);
  const focused = document.activeElement && document.activeElement.dataset
    ? document.activeElement.dataset.room
    : undefined;
  const items = [];
  let total = 0;
  for (const name of names) {
    const entry = rooms.get(name) || { unread: 0 };
    const a = make("a");
    a.href = "#" + encodeURIComponent(name);
    a.dataset.room = name;
    a.append(make("span", "name", "#" + name));
    const unread = name === current ? 0 : entry.unread || 0;
    if (unread > 0) {
      total += unread;
      a.classList.add("unread");
      const badge = make("span", "badge", entry.more ? unread + "+" : String(unread));
      badge.append(make("span", "visually-hidden", " unread"));
      a.append(badge);
    }
    if (name === current) a.setAttribute("aria-current", "page");
    const li = make("li");
    li.append(a);
    items.push(li);
  }
  roomList.replaceChildren(...items);
  if (focused) {
    const again = roomList.querySelector('a[data-room="' + CSS.escape(focused) + '"]');
    if (again) again.focus();
  }
  roomsToggleUnread.hidden = total === 0;
  roomsToggleUnread.textContent = String(total);
  document.title = (total > 0 ? "(" + total + ") " : "") + (current ? "#" + current + " · " : "") + "chat";
}

function renderHeader() {
  roomName.textContent = current ? "#" + current : "";
  const entry = rooms.get(current);
  roomTopic.textContent = entry && entry.topic ? entry.topic : "";
  roomTopic.title = roomTopic.textContent; // the whole topic where it is cut short
}

window.addEventListener("hashchange", () => {
  if (!session.nick()) return;
  const r = fromHash();
  if (r && r !== current) hooks.open(r);
});

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && session.nick()) refresh();
});

roomList.addEventListener("click", (ev) => {
  const a = ev.target.closest("a[data-room]");
  if (!a) return;
  ev.preventDefault();
  const room = a.dataset.room;
  if (location.hash !== "#" + room) history.pushState(null, "", "#" + room);
  hooks.open(room);
  if (sidebar.classList.contains("open")) {
    closeDrawer();
    hooks.focusComposer();
  }
});

createForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const room = createName.value.trim().toLowerCase();
  if (!ROOM_RE.test(room)) {
    createError.textContent =
      "A room name is 1 to 64 lower-case letters, digits, - or _, starting with a letter or digit.";
    createName.focus();
    return;
  }
  createError.textContent = "";
  try {
    await join(room);
    createName.value = "";
    closeDrawer();
    hooks.focusComposer();
  } catch (e) {
    createError.textContent =
      e.status === 429 ? "Too many requests. Try again in " + waitText(e.retryAfter) + "." : e.message;
  }
});

// ---- the drawer (narrow screens) ----------------------------------------

function closeDrawer() {
  sidebar.classList.remove("open");
  roomsToggle.setAttribute("aria-expanded", "false");
}

roomsToggle.addEventListener("click", () => {
  const open = !sidebar.classList.contains("open");
  sidebar.classList.toggle("open", open);
  roomsToggle.setAttribute("aria-expanded", String(open));
  if (open) {
    const first = roomList.querySelector('a[aria-current="page"]') || roomList.querySelector("a");
    if (first) first.focus();
  }
});

document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && sidebar.classList.contains("open")) {
    closeDrawer();
    roomsToggle.focus();
  }
});
