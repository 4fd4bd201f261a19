// The members panel of a private room, for its owner and admins: who
// belongs to it (GET /api/rooms/{room}/members), a form that adds one by
// nick (PUT .../members/{nick}) and a button that removes one (DELETE).
// Anyone else, and every other kind of room, sees no panel: the server
// would refuse them anyway.

import { api, roomPath } from "./api.js";
import { byId, make } from "./dom.js";
import { humanError } from "./errors.js";
import * as rooms from "./rooms.js";
import * as session from "./session.js";

const NICK_RE = /^[A-Za-z0-9_.-]{1,32}$/;

const panel = byId("members-panel");
const list = byId("members-list");
const form = byId("members-add-form");
const nickInput = byId("members-add-nick");
const errorLine = byId("members-error");

let shownFor = null; // the room the panel shows, null while hidden
let gen = 0; // bumped when the panel is emptied or shows another room

// update shows or hides the panel for the open room, as the room list now
// knows it; it reloads the members when the room is another one.
export function update() {
  const room = rooms.open();
  const i = rooms.info(room);
  const manage = room && i.kind === "private" && (i.role === "owner" || i.role === "admin");
  if (!manage) {
    hide();
    return;
  }
  if (shownFor === room) return;
  shownFor = room;
  panel.hidden = false;
  errorLine.textContent = "";
  list.replaceChildren();
  load();
}

// hide empties the panel (another room, the end of a session).
export function hide() {
  gen++;
  shownFor = null;
  panel.hidden = true;
  list.replaceChildren();
  errorLine.textContent = "";
}

async function load() {
  const g = ++gen;
  const room = shownFor;
  let data;
  try {
    data = await api("GET", roomPath(room) + "/members");
  } catch (e) {
    if (g === gen) errorLine.textContent = "Could not list the members: " + humanError(e);
    return;
  }
  if (g !== gen) return;
  const members = (data && Array.isArray(data.members) ? data.members : []).filter((m) => m && typeof m.nick === "string");
  list.replaceChildren(
    ...members.map((m) => {
      const li = make("li");
      li.dataset.nick = m.nick;
      li.append(make("span", "nick", m.nick));
      if (m.role === "owner" || m.role === "admin") li.append(make("span", "role", m.role));
      if (m.role !== "owner" && m.nick !== session.nick()) {
        const b = make("button", "remove", "Remove");
        b.type = "button";
        b.dataset.nick = m.nick;
        b.setAttribute("aria-label", "Remove " + m.nick);
        li.append(b);
      }
      return li;
    }),
  );
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const room = shownFor;
  const nick = nickInput.value.trim();
  if (!room) return;
  if (!NICK_RE.test(nick)) {
    errorLine.textContent = "A nick is 1 to 32 letters, digits, dots, dashes or underscores.";
    return;
  }
  errorLine.textContent = "";
  try {
    await api("PUT", roomPath(room) + "/members/" + encodeURIComponent(nick));
  } catch (e) {
    if (shownFor === room) {
      errorLine.textContent = e.code === "user_not_found" ? "There is no account " + nick + "." : humanError(e);
    }
    return;
  }
  if (shownFor !== room) return;
  nickInput.value = "";
  load();
});

list.addEventListener("click", async (ev) => {
  const b = ev.target.closest("button.remove");
  if (!b) return;
  const room = shownFor;
  b.disabled = true;
  try {
    await api("DELETE", roomPath(room) + "/members/" + encodeURIComponent(b.dataset.nick));
  } catch (e) {
    b.disabled = false;
    if (shownFor === room) errorLine.textContent = "Could not remove " + b.dataset.nick + ": " + humanError(e);
    return;
  }
  if (shownFor === room) load();
});
