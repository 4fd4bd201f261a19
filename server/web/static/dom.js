// Small DOM helpers shared by the page's modules. Nothing here parses a
// string as markup: text goes in through textContent only.

// byId returns the element of index.html with that id. The markup is fixed,
// so a missing element is a defect of the page, reported when it loads
// rather than as a null somewhere later.
export function byId(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error("index.html has no element #" + id);
  return e;
}

// make creates an element with a class and, when text is given, that text.
export function make(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
