// The rooms list in the sidebar (a drawer on narrow screens), the open
// room's header, creating rooms (public or private), opening direct
// rooms, and the unread counts of the rooms that are not open. It polls
// the room list while signed in (every page of GET /api/rooms, and
// GET /api/me/rooms for the caller's role and the members of direct
// rooms) and remembers, per nick in localStorage, the newest message seen
// in each room. Direct rooms are listed apart, named by their other
// members; a private room carries a lock.

import { api, roomPath, waitText } from "./api.js";
import { byId, make } from "./dom.js";
import { fetchPage } from "./history.js";
import { compare } from "./ids.js";
import * as session from "./session.js";

const ROOM_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const UNREAD_PAGE = 100; // unread counted up to this, shown as "N+" beyond
const ROOM_POLL_MS = 5000;
const LIST_PAGES_MAX = 20; // pages of GET /api/rooms followed per poll

const roomsToggle = byId("rooms-toggle");
const roomsToggleUnread = byId("rooms-toggle-unread");
const roomName = byId("room-name");
const roomTopic = byId("room-topic");
const sidebar = byId("sidebar");
const roomList = byId("room-list");
const dmTitle = byId("dm-title");
const dmList = byId("dm-list");
const createForm = byId("create-room-form");
const createName = byId("create-room-name");
const createError = byId("create-room-error");
const createPrivate = byId("create-room-private");

let current = null; // the open room
const rooms = new Map(); // name -> {topic, lastID, unread, more, countedFor, kind, member, role, members}
let seen = {}; // room -> newest id the user has had on screen ("" for none)
let loaded = false; // the list has been read once since sign-in
let pollTimer = 0;
let seenTimer = 0;

// What other modules do for this one, set once by app.js.
const hooks = {
  open: (room) => {}, // show that room
  focusComposer: () => {},
  changed: () => {}, // the open room or what is known of it changed
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
  dmList.replaceChildren();
  dmTitle.hidden = true;
}

// current returns the open room.
export function open() {
  return current;
}

// info returns what the list knows of room: {kind, role, member,
// members}, kind "" and role "" while it is not known.
export function info(room) {
  const e = rooms.get(room);
  return {
    kind: (e && e.kind) || "",
    role: (e && e.role) || "",
    member: !!(e && e.member),
    members: (e && e.members) || [],
  };
}

// label is how the page names room: "#name", or for a direct room the
// other members' nicks.
export function label(room) {
  const e = rooms.get(room);
  if (e && e.kind === "direct" && e.members && e.members.length) {
    const others = e.members.filter((n) => n !== session.nick());
    return "@" + (others.length ? others : e.members).join(", @");
  }
  return "#" + room;
}

// drop forgets room at once (the caller lost it); the next poll agrees.
export function drop(room) {
  rooms.delete(room);
  delete seen[room];
  saveSeen();
  render();
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
  hooks.changed();
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
export async function join(room, kind) {
  const r = await api("PUT", roomPath(room), kind === "private" ? { kind: "private" } : undefined);
  if (!rooms.has(room)) {
    rooms.set(room, { topic: "", lastID: null, unread: 0, more: false, countedFor: null });
  }
  const entry = rooms.get(room);
  if (r && typeof r.kind === "string") entry.kind = r.kind;
  if (r && r.member === true) entry.member = true;
  if (kind === "private" && !entry.role) entry.role = "owner";
  if (location.hash !== "#" + room) history.pushState(null, "", "#" + room);
  hooks.open(room);
  refresh();
}

// direct opens the direct room of the caller and nicks (made if it is
// new). It resolves to the room's name, and throws the APIError of a
// refusal with nothing opened.
export async function direct(nicks) {
  const r = await api("POST", "/api/dms", { nicks });
  if (!r || typeof r.name !== "string" || !ROOM_RE.test(r.name)) throw new Error("The server answered no room.");
  const entry = rooms.get(r.name) || { topic: "", lastID: null, unread: 0, more: false, countedFor: null };
  entry.kind = "direct";
  entry.member = true;
  entry.members = Array.isArray(r.members) ? r.members.filter((n) => typeof n === "string") : nicks;
  rooms.set(r.name, entry);
  if (location.hash !== "#" + r.name) history.pushState(null, "", "#" + r.name);
  hooks.open(r.name);
  refresh();
  return r.name;
}

// listAll reads every page of GET /api/rooms (up to LIST_PAGES_MAX).
async function listAll() {
  const all = [];
  let after = "";
  for (let i = 0; i < LIST_PAGES_MAX; i++) {
    const data = await api("GET", "/api/rooms" + (after ? "?after=" + encodeURIComponent(after) : ""));
    const page = (data && Array.isArray(data.rooms) ? data.rooms : []).filter((r) => r && typeof r.name === "string");
    all.push(...page);
    if (!data || !data.has_more || page.length === 0) break;
    after = page[page.length - 1].name;
  }
  return all;
}

// myRooms reads GET /api/me/rooms by name; a server without it answers
// nothing, and the list shows what GET /api/rooms says.
async function myRooms() {
  const mine = new Map();
  try {
    const data = await api("GET", "/api/me/rooms");
    for (const r of (data && Array.isArray(data.rooms) ? data.rooms : [])) {
      if (r && typeof r.name === "string") mine.set(r.name, r);
    }
  } catch (e) {
    if (e.status === 401) throw e;
  }
  return mine;
}

// refresh reloads the room list and counts unread messages in the rooms
// that are not open. It runs every ROOM_POLL_MS while signed in.
export async function refresh() {
  clearTimeout(pollTimer);
  const me = session.nick();
  try {
    const [listed, mine] = await Promise.all([listAll(), myRooms()]);
    if (session.nick() !== me) return;
    // A room of mine the list did not reach (past its last page) is
    // shown all the same.
    const seenNames = new Set(listed.map((r) => r.name));
    for (const [name, r] of mine) if (!seenNames.has(name)) listed.push(r);
    const names = new Set();
    for (const r of listed) {
      names.add(r.name);
      const m = mine.get(r.name);
      const entry = rooms.get(r.name) || { unread: 0, more: false, countedFor: null };
      entry.topic = typeof r.topic === "string" ? r.topic : "";
      entry.lastID = typeof r.last_id === "string" ? r.last_id : null;
      entry.kind = typeof r.kind === "string" ? r.kind : "public";
      entry.member = r.member === true || m !== undefined;
      entry.role = m && typeof m.role === "string" ? m.role : "";
      if (m && Array.isArray(m.members)) entry.members = m.members.filter((n) => typeof n === "string");
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
    hooks.changed();
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
  const directs = [];
  let total = 0;
  for (const name of names) {
    const entry = rooms.get(name) || { unread: 0 };
    const a = make("a");
    a.href = "#" + encodeURIComponent(name);
    a.dataset.room = name;
    if (entry.kind === "direct") {
      a.classList.add("direct");
      a.append(make("span", "name", label(name)));
    } else if (entry.kind === "private") {
      a.classList.add("private");
      const lock = make("span", "lock");
      lock.setAttribute("aria-hidden", "true");
      a.append(lock, make("span", "name", "#" + name), make("span", "visually-hidden", " (private)"));
    } else {
      a.append(make("span", "name", "#" + name));
    }
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
    (entry.kind === "direct" ? directs : items).push(li);
  }
  roomList.replaceChildren(...items);
  dmList.replaceChildren(...directs);
  dmTitle.hidden = directs.length === 0;
  if (focused) {
    const again = sidebar.querySelector('a[data-room="' + CSS.escape(focused) + '"]');
    if (again) again.focus();
  }
  roomsToggleUnread.hidden = total === 0;
  roomsToggleUnread.textContent = String(total);
  document.title = (total > 0 ? "(" + total + ") " : "") + (current ? label(current) + " · " : "") + "chat";
}

function renderHeader() {
  roomName.textContent = current ? label(current) : "";
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

sidebar.addEventListener("click", (ev) => {
  const a = ev.target.closest("a[data-room]");
  if (!a || !(roomList.contains(a) || dmList.contains(a))) return;
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
    await join(room, createPrivate.checked ? "private" : "public");
    createName.value = "";
    createPrivate.checked = false;
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
