// Keep what is typed on a long page as a draft on the server, so a closed tab, a crashed browser
// or a lost connection loses nothing. A few seconds after typing stops, the form (with its CSRF
// token) is sent to the page's draft address; when the page is left, it is sent with
// navigator.sendBeacon. The server shows the draft again next time, with a banner saying so.
// Without JavaScript the page works the same, with "Save and come back later".

const DELAY_MS = 3000;

function formBody(form) {
  const body = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (typeof value === "string") body.append(name, value);
  }
  return body;
}

function clock(date) {
  return date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
}

const PROBLEMS = {
  401: "You have been signed out, so we could not keep a draft. What you typed is still on this page: select Save and come back later to keep it.",
  409: "This self-audit cannot be changed now, so we could not keep a draft.",
  400: "This page has been open too long to keep a draft. Select Save and come back later to keep what you typed.",
};

function start(form) {
  const url = form.dataset.autosave;
  const status = document.getElementById(form.dataset.autosaveStatus);
  let timer = null;
  let dirty = false;
  let leaving = false;

  const say = (text) => {
    if (status) status.textContent = text;
  };

  async function send() {
    timer = null;
    if (!dirty || leaving) return;
    dirty = false;
    try {
      const response = await fetch(url, {
        method: "POST",
        body: formBody(form),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.ok) {
        say(`Draft kept at ${clock(new Date())}`);
      } else {
        if (response.status !== 409) dirty = true;
        say(PROBLEMS[response.status] || "We could not keep a draft just now. Select Save and come back later to keep what you typed.");
      }
    } catch {
      dirty = true;
      say("We could not reach the server to keep a draft. What you typed is still on this page.");
    }
  }

  function changed() {
    dirty = true;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(send, DELAY_MS);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  // the form is on its way: the server saves it, or (a row added or removed, or answers it
  // cannot save yet) keeps it as the draft itself (views.audits._keep_as_shown); a draft sent
  // after it would outlive the save
  form.addEventListener("submit", () => {
    leaving = true;
    if (timer !== null) clearTimeout(timer);
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) leaving = false; // back from the browser's cache: the page is live again
  });
  window.addEventListener("pagehide", () => {
    if (dirty && !leaving && navigator.sendBeacon) {
      navigator.sendBeacon(url, formBody(form));
      dirty = false;
    }
  });
}

for (const form of document.querySelectorAll("form[data-autosave]")) start(form);
