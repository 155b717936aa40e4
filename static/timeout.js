// The idle-timeout warning (GOV.UK / HMRC timeout warning pattern) for signed-in pages.
//
// The server ends a session after a set time without a request (accounts/session.py). A little
// before that, this opens the dialog in templates/_timeout.html, counts down, and lets the person
// stay signed in (POST /session/extend) or sign out. It asks GET /session how long is left before
// it opens the dialog and before it signs anyone out, because another tab may have kept the
// session alive meanwhile; GET /session itself does not extend the session. At the end it signs
// the person out and sends them to the sign-in page, which says why and brings them back here.
// A module loaded from /static: the page's Content-Security-Policy allows no inline script.

const dialog = document.getElementById("app-timeout");

if (dialog && typeof dialog.showModal === "function") {
  watch(dialog);
}

function words(seconds) {
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  const parts = [];
  if (minutes > 0) parts.push(`${minutes} minute${minutes === 1 ? "" : "s"}`);
  if (rest > 0 || minutes === 0) parts.push(`${rest} second${rest === 1 ? "" : "s"}`);
  return parts.join(" and ");
}

// What a screen reader hears: whole minutes, then tens of seconds, so that it is not told
// every second.
function roughly(seconds) {
  if (seconds >= 60) {
    const minutes = Math.ceil(seconds / 60);
    return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  }
  if (seconds > 10) return `${Math.ceil(seconds / 10) * 10} seconds`;
  return words(seconds);
}

function watch(dialog) {
  // seconds left when the page was made: the server refreshes its last-seen time at most once a
  // minute, so this can be a little less than the whole idle limit
  const leftAtLoad = Number(dialog.dataset.secondsLeft);
  const warn = Number(dialog.dataset.warnSeconds);
  const form = dialog.querySelector("form");
  const countdown = dialog.querySelector(".app-timeout__countdown");
  const live = dialog.querySelector(".app-timeout__live");
  let deadline = Date.now() + leftAtLoad * 1000;
  let timer = null;
  let announced = null;
  let returnFocus = null;
  let busy = false;

  // Seconds left as the server counts them; null when it cannot be asked (then the local clock decides).
  async function secondsLeft() {
    try {
      const response = await fetch(dialog.dataset.statusUrl, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) return null;
      const body = await response.json();
      return body.signed_in ? Number(body.seconds_left) : 0;
    } catch {
      return null;
    }
  }

  function localLeft() {
    return Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
  }

  function wait(seconds, then) {
    clearTimeout(timer);
    timer = setTimeout(then, Math.max(0, seconds) * 1000);
  }

  async function check() {
    if (busy) return;
    busy = true;
    const asked = await secondsLeft();
    busy = false;
    const left = asked === null ? localLeft() : asked;
    deadline = Date.now() + left * 1000;
    if (left <= 0) {
      signOut();
    } else if (left > warn + 1) {
      close();
      wait(left - warn, check);
    } else {
      open();
    }
  }

  function open() {
    if (!dialog.open) {
      returnFocus = document.activeElement;
      announced = null;
      dialog.showModal();
      dialog.focus();
    }
    tick();
  }

  function close() {
    if (!dialog.open) return;
    dialog.close();
    live.textContent = "";
    if (returnFocus && typeof returnFocus.focus === "function") returnFocus.focus();
  }

  function tick() {
    const left = localLeft();
    countdown.textContent = words(left);
    if (announced === null || announced - left >= (left >= 60 ? 60 : 20)) {
      live.textContent = `We will sign you out in ${roughly(left)}.`;
      announced = left;
    }
    if (left <= 0) {
      check(); // signs out, unless another tab kept the session alive
    } else {
      wait(1, tick);
    }
  }

  async function signOut() {
    clearTimeout(timer);
    // Sign out here rather than rely on the server's clock agreeing to the second.
    try {
      await fetch(dialog.dataset.signOutUrl, { method: "POST", credentials: "same-origin" });
    } catch {
      // the server will have ended the session by now anyway
    }
    window.location.assign(dialog.dataset.expiredUrl);
  }

  async function stay() {
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const body = await response.json();
      if (!body.signed_in) {
        signOut();
        return;
      }
      deadline = Date.now() + Number(body.seconds_left) * 1000;
      close();
      wait(Number(body.seconds_left) - warn, check);
    } catch {
      live.textContent = "We could not reach the server. Check your connection and try again.";
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    stay();
  });
  // Escape closes the dialog: that means "stay signed in", as in the GOV.UK pattern.
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    stay();
  });
  // Timers sleep in background tabs and on locked phones: look again when the page is back.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !dialog.open) check();
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) check();
  });

  wait(leftAtLoad - warn, check);
}
