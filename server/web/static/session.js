// The nick signed in on this page, or null while signed out. app.js sets it
// when a session starts and ends; the other modules only read it, to tell
// the user's own messages, typing and presence from everyone else's.
//
// The session cookie is HttpOnly, so the page cannot see whether it holds
// one. It keeps its own note in localStorage instead: set at sign-in,
// dropped at sign-out or a 401, so that a browser never signed in here
// is not made to ask the server (and show a 401 in its console).

const SIGNED_IN = "signed-in";

let current = null;

export function nick() {
  return current;
}

export function setNick(n) {
  current = n;
}

// remember notes that this browser holds a session.
export function remember(n) {
  try {
    localStorage.setItem(SIGNED_IN, n);
  } catch (e) {
    // Storage disabled: the next load asks the server all the same.
  }
}

// forget notes that it holds none.
export function forget() {
  try {
    localStorage.setItem(SIGNED_IN, "");
  } catch (e) {
    // As above.
  }
}

// maybeSignedIn reports whether the browser may hold a session. Without a
// note it may still, from a page older than the note (one that kept unread
// marks, "seen:NICK"), or with storage disabled; only a note of sign-out,
// or a browser with no trace of this page, says no.
export function maybeSignedIn() {
  try {
    const v = localStorage.getItem(SIGNED_IN);
    if (v !== null) return v !== "";
    for (let i = 0; i < localStorage.length; i++) {
      if (localStorage.key(i).startsWith("seen:")) return true;
    }
    return false;
  } catch (e) {
    return true;
  }
}
