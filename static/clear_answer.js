// "Clear my answer" under a question that may be skipped (forms/render.py clear_button).
// Without JavaScript the button posts the page, which comes back with the question unanswered.
// With it, the choice is cleared in place: the radios are unchecked, the keyboard goes to the
// question and a screen reader hears that the answer was cleared. The same post is still sent,
// in the background, so the server also takes the answer out of the kept draft (where it would
// come back from); the page's own Continue waits for every such post still on its way (one
// question cleared twice, or two questions), so none can undo a later answer.
// The button shows only while one of its question's options is chosen.

const CLEARED = "Your answer is cleared. You can choose again or leave it blank.";

function radiosOf(button) {
  const form = button.form;
  return [...form.elements].filter((e) => e.type === "radio" && e.name === button.value);
}

function start(form) {
  const buttons = [...form.querySelectorAll(".app-clear-answer__button")];
  if (buttons.length === 0) return;
  const status = document.createElement("p");
  status.className = "govuk-visually-hidden";
  status.setAttribute("role", "status");
  form.append(status);
  const pending = new Set(); // every clearing still on its way: one cleared again, or another question's

  const show = (button) => {
    button.parentElement.hidden = !radiosOf(button).some((r) => r.checked);
  };

  for (const button of buttons) {
    show(button);
    button.addEventListener("click", (event) => {
      event.preventDefault();
      const body = new URLSearchParams();
      for (const [name, value] of new FormData(form)) {
        if (typeof value === "string") body.append(name, value);
      }
      body.append(button.name, button.value);
      const sent = fetch(form.action, { method: "POST", body, credentials: "same-origin", keepalive: true })
        .catch(() => null) // not kept: Continue saves the page without the answer all the same
        .finally(() => pending.delete(sent));
      pending.add(sent);
      for (const radio of radiosOf(button)) radio.checked = false;
      form.dispatchEvent(new Event("change", { bubbles: true })); // questions that depended on it
      const fieldset = button.closest("fieldset");
      fieldset.setAttribute("tabindex", "-1");
      fieldset.focus();
      button.parentElement.hidden = true;
      status.textContent = "";
      setTimeout(() => {
        status.textContent = CLEARED;
      }, 100); // a change a screen reader notices, even when the same words were said before
    });
  }
  form.addEventListener("change", () => buttons.forEach(show));
  form.addEventListener("submit", (event) => {
    if (pending.size === 0) return;
    event.preventDefault(); // Continue after every clearing has reached the draft, not before
    const submitter = event.submitter;
    Promise.all(pending).then(() => form.requestSubmit(submitter));
  });
}

for (const form of document.querySelectorAll("form.app-questions")) start(form);
