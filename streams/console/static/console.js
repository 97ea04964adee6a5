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

// A running what-if says how far it has got: its progress is fetched every two seconds
// and the words and the bar updated (read out politely); when it has finished, a link to
// the result appears (the page never moves by itself). Without JavaScript the page has a
// link to check its progress.
const job = document.querySelector("[data-whatif-progress]");
if (job) {
  const said = job.querySelector("#whatif-said");
  const bar = job.querySelector("#whatif-bar");
  const poll = window.setInterval(async () => {
    try {
      const response = await fetch(job.dataset.whatifProgress, { credentials: "same-origin" });
      if (!response.ok) return;
      const now = await response.json();
      if (bar && now.percent !== null) bar.value = now.percent;
      if (now.running) {
        if (said.textContent !== now.said) said.textContent = now.said;
        return;
      }
      window.clearInterval(poll);
      said.textContent = now.said + " ";
      if (!now.failed) {
        const link = document.createElement("a");
        link.className = "govuk-link";
        link.href = job.dataset.whatifResult;
        link.textContent = "See what the draft would have changed";
        said.appendChild(link);
      }
      if (bar) bar.remove();
      job.querySelector("label[for=whatif-bar]")?.remove();
    } catch {
      // the console is away for a moment: try again on the next tick
    }
  }, 2000);
}

// Sign-out at the provider is a form POST (the ID token stays out of addresses): sent at once.
document.querySelector("form[data-sign-out]")?.submit();
