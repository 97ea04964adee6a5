// The console's scripts: GOV.UK Frontend's components, and keyboard shortcuts on a
// possible match. Every page works without them.
import { initAll } from "/static/govuk-frontend.min.js";

initAll();

// Shortcuts choose a decision (1-9 a candidate, n none of these, u not sure). They never
// act while focus is in a text field, a select or anything editable: typing "2" in a
// note is a 2.
function typing(target) {
  if (!target) return false;
  const tag = target.tagName;
  return (
    target.isContentEditable ||
    tag === "TEXTAREA" ||
    tag === "SELECT" ||
    (tag === "INPUT" && !["radio", "checkbox", "button", "submit"].includes(target.type))
  );
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  const choice = document.querySelector(
    `input[data-shortcut="${CSS.escape(event.key.toLowerCase())}"]`
  );
  if (!choice) return;
  event.preventDefault();
  choice.checked = true;
  choice.dispatchEvent(new Event("change", { bubbles: true }));
  choice.focus();
});

// The duty board stays current: every so often the page is fetched again and the board's
// part replaced (not while focus is inside it: nobody loses their place). Without
// JavaScript the board has a Refresh link.
const board = document.querySelector("[data-board-refresh]");
if (board) {
  const every = Number(board.dataset.boardRefresh) * 1000;
  const refresh = async () => {
    if (document.hidden || board.contains(document.activeElement)) return;
    const response = await fetch(window.location.pathname, { credentials: "same-origin" });
    if (!response.ok) return; // signed out, or the console is away: the page says so on reload
    const fresh = new DOMParser()
      .parseFromString(await response.text(), "text/html")
      .querySelector("[data-board-refresh]");
    if (!fresh) return;
    board.innerHTML = fresh.innerHTML;
    const status = board.querySelector("#board-status");
    const asAt = board.querySelector("#board-as-at");
    if (status && asAt) status.textContent = "Board updated. " + asAt.textContent.split(".")[0] + ".";
  };
  window.setInterval(() => refresh().catch(() => {}), every);
}
