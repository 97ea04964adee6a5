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
