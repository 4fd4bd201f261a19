// The composer's /commands: one table, as the terminal client has, from
// which the parser checks arguments and /help lists them. A line starting
// with "/" is a command or nothing: an unknown one is refused here, so a
// typo such as "/jion dev" never reaches the room. "//text" sends "/text".

// Each command: name (typed after the slash, lower case), aliases, args as
// the help shows them (each word takes one word of the line, TEXT the rest,
// one in [brackets] may be left out, a ROOM may be written #room), help,
// and run(actions, args) with one argument per word of args ("" for one
// left out). later marks a command another version brings: refused with
// "not available yet" rather than posted.
export const COMMANDS = [
  { name: "join", args: "ROOM", help: "open ROOM, creating it if missing", run: (a, [room]) => a.join(room) },
  { name: "leave", aliases: ["part"], args: "", help: "leave this room for #general", run: (a) => a.leave() },
  { name: "me", args: "TEXT", help: "send an action", run: (a, [text]) => a.send(text, "action") },
  { name: "topic", args: "[TEXT]", help: "show the topic, or set it to TEXT", run: (a, [text]) => a.topic(text) },
  { name: "who", args: "", help: "list who is online here", run: (a) => a.who() },
  { name: "help", args: "", help: "this list", run: (a) => a.help() },
  {
    name: "create",
    args: "ROOM [--private]",
    help: "create ROOM and open it; --private makes it members only",
    run: (a, [room, flag]) => a.create(room, flag),
  },
  { name: "msg", args: "NICK [TEXT]", help: "open the direct room with NICK, and send TEXT there", run: (a, [nick, text]) => a.msg(nick, text) },
  { name: "search", args: "TEXT", help: "search the messages", later: true },
];

// usage is a command as the help shows it: "/join ROOM".
export function usage(c) {
  return "/" + c.name + (c.args ? " " + c.args : "");
}

// helpLines is what /help shows: the commands there are, then how to send a
// line that starts with a slash.
export function helpLines() {
  const out = [];
  for (const c of COMMANDS) {
    if (c.later) continue;
    const also = c.aliases ? " (or /" + c.aliases.join(", /") + ")" : "";
    out.push(usage(c) + also + ": " + c.help);
  }
  out.push("//TEXT: send TEXT starting with one /");
  return out;
}

function find(name) {
  return COMMANDS.find((c) => c.name === name || (c.aliases && c.aliases.includes(name)));
}

// parse reads a line of the composer. It returns {text} for a message to
// send as it is, {command, args} for a command to run, or {error} with a
// sentence saying why nothing is sent.
export function parse(line) {
  if (!line.startsWith("/")) return { text: line };
  if (line.startsWith("//")) return { text: line.slice(1) };
  const m = /^\/(\S*)\s*([\s\S]*)$/.exec(line);
  const name = m[1].toLowerCase();
  const rest = m[2].trim();
  const c = find(name);
  if (!c) {
    return { error: "Unknown command /" + name + ": /help lists the commands. Nothing was sent." };
  }
  if (c.later) {
    return { error: "/" + c.name + " is not available yet on this server. Nothing was sent." };
  }
  const args = parseArgs(c, rest);
  if (!args) return { error: "Usage: " + usage(c) + (c.args ? "" : " (no argument)") + ". Nothing was sent." };
  return { command: c, args };
}

// parseArgs splits the rest of the line by c.args, or returns null when it
// does not fit.
function parseArgs(c, rest) {
  const want = c.args.split(" ").filter(Boolean);
  if (want.length === 0) return rest === "" ? [] : null;
  const args = [];
  for (const w of want) {
    const optional = w.startsWith("[");
    const kind = w.replace(/[[\]]/g, "");
    let arg;
    if (kind === "TEXT") {
      arg = rest;
      rest = "";
    } else {
      const sp = /^(\S*)\s*([\s\S]*)$/.exec(rest);
      arg = sp[1];
      rest = sp[2];
      if (kind === "ROOM" && arg.startsWith("#")) arg = arg.slice(1);
    }
    if (arg === "" && !optional) return null;
    args.push(arg);
  }
  return rest === "" ? args : null;
}
