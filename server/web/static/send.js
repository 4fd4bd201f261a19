// The /send page: a bare form that posts one message at a time with the
// same API and the same session cookie as the chat page. Signed out, it
// shows a sign-in form first.

import { api, roomPath, waitText } from "./api.js";
import { byId } from "./dom.js";

const ROOM_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

const loginView = byId("send-login-view");
const loginForm = byId("send-login-form");
const loginNick = byId("send-login-nick");
const loginPassword = byId("send-login-password");
const loginError = byId("send-login-error");
const loginSubmit = byId("send-login-submit");
const sendView = byId("send-view");
const sendForm = byId("send-form");
const sendNick = byId("send-nick");
const sendRoom = byId("send-room");
const sendText = byId("send-text");
const sendError = byId("send-error");
const sendDone = byId("send-done");
const sendSubmit = byId("send-submit");

function showLogin(message) {
  sendView.hidden = true;
  loginView.hidden = false;
  loginError.textContent = message || "";
  loginSubmit.disabled = false;
  (loginNick.value ? loginPassword : loginNick).focus();
}

function showSend(nick) {
  loginView.hidden = true;
  sendView.hidden = false;
  sendNick.textContent = nick;
  sendText.focus();
}

// refusal says why a request failed, in a sentence.
function refusal(e) {
  if (e.status === 429) return "Too many requests. Try again in " + waitText(e.retryAfter) + ".";
  if (e.status === 404 && e.code === "room_not_found") return "There is no room of that name.";
  return e.message;
}

loginForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  loginSubmit.disabled = true;
  try {
    const info = await api(
      "POST",
      "/api/session",
      { nick: loginNick.value.trim(), password: loginPassword.value },
      { login: true },
    );
    loginPassword.value = "";
    showSend(info.nick);
  } catch (e) {
    loginSubmit.disabled = false;
    loginError.textContent = e.status === 401 ? "Wrong nick or password." : refusal(e);
  }
});

sendForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const room = sendRoom.value.trim().replace(/^#/, "").toLowerCase();
  const text = sendText.value;
  sendDone.textContent = "";
  if (!ROOM_RE.test(room)) {
    sendError.textContent = "A room name is 1 to 64 lower-case letters, digits, - or _.";
    sendRoom.focus();
    return;
  }
  if (text.trim() === "") {
    sendError.textContent = "There is nothing to send.";
    sendText.focus();
    return;
  }
  sendError.textContent = "";
  sendSubmit.disabled = true;
  try {
    await api("POST", roomPath(room) + "/messages", { text }, { login: true });
    sendText.value = "";
    sendDone.textContent = "Sent to #" + room + ".";
  } catch (e) {
    if (e.status === 401) {
      showLogin("Your session has ended. Sign in again; the text is kept.");
    } else {
      sendError.textContent = refusal(e);
    }
  } finally {
    sendSubmit.disabled = false;
    sendText.focus();
  }
});

// The session cookie is HttpOnly: ask the server who we are.
async function boot() {
  try {
    const me = await api("GET", "/api/me", undefined, { login: true });
    showSend(me.nick);
  } catch (e) {
    showLogin(e.status === 401 ? "" : "The server cannot be reached right now: " + e.message);
  }
}

boot();
