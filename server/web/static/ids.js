// Message ids, ordered the way the server orders them (chat.ParseID and
// chat.CompareIDs in Go): "N" from SQLite or "N-M" from Redis streams, both
// decimal uint64 without leading zeros, compared as (N, M). BigInt keeps
// all 64 bits, which a JavaScript number would round. Ids are never
// compared as strings or floats anywhere in the page.

const ID_RE = /^(0|[1-9][0-9]*)(?:-(0|[1-9][0-9]*))?$/;
const MAX = (1n << 64n) - 1n;
const MAX_LEN = 41;

// parse returns [major, minor] as BigInts, or null for a string that is not
// an id.
export function parse(s) {
  if (typeof s !== "string" || s.length === 0 || s.length > MAX_LEN) return null;
  const m = ID_RE.exec(s);
  if (!m) return null;
  const major = BigInt(m[1]);
  const minor = BigInt(m[2] || "0");
  if (major > MAX || minor > MAX) return null;
  return [major, minor];
}

// compare returns -1, 0 or 1 as a is before, equal to or after b. Like the
// server, it sorts a string that is not an id before every id.
export function compare(a, b) {
  const x = parse(a);
  const y = parse(b);
  if (!x && !y) return a < b ? -1 : a > b ? 1 : 0;
  if (!x) return -1;
  if (!y) return 1;
  for (let i = 0; i < 2; i++) {
    if (x[i] < y[i]) return -1;
    if (x[i] > y[i]) return 1;
  }
  return 0;
}
