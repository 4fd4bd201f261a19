// The nick signed in on this page, or null while signed out. app.js sets it
// when a session starts and ends; the other modules only read it, to tell
// the user's own messages, typing and presence from everyone else's.

let current = null;

export function nick() {
  return current;
}

export function setNick(n) {
  current = n;
}
