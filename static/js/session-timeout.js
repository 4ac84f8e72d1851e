/* Sessions and the browser's memory of pages.
 *
 * On every page: a page the back-forward cache restores (after signing out, or after the
 * quick exit) is fetched again, so a session that has ended shows the sign-in page instead
 * of the last page seen. Pages are never stored (Cache-Control: no-store); this covers
 * browsers that restore them anyway.
 *
 * For someone signed in (<body data-idle-seconds data-idle-left data-signin-url>): a minute
 * before the idle sign-out, the dialog #session-timeout asks "Stay signed in?". "Stay signed
 * in" posts its form with fetch (auth.keep_alive restarts the server's idle clock) and the
 * timer starts again; "Sign out now" is a plain sign-out form; Escape closes the dialog and
 * the timer runs on. At the deadline the page goes to the sign-in page: the server has signed
 * out by then. Without JavaScript nothing here runs and the server signs out silently.
 */
(function () {
  "use strict";

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      window.location.reload();
    }
  });

  var body = document.body;
  var dialog = document.querySelector("[data-session-timeout]");
  if (!body || !dialog || typeof dialog.showModal !== "function") {
    return;
  }
  var idle = parseInt(body.getAttribute("data-idle-seconds"), 10);
  var left = parseInt(body.getAttribute("data-idle-left"), 10);
  var signin = body.getAttribute("data-signin-url");
  var form = dialog.querySelector("form[data-keep-alive]");
  if (!(idle > 0) || !(left >= 0) || !signin || !form) {
    return;
  }
  var stay = form.querySelector("button");
  var WARN_MS = 60 * 1000;
  /* The server signs out once a full second has passed its limit: arrive just after. */
  var GRACE_MS = 2000;
  var deadline = 0;
  var warned = false;
  var timer = null;

  function goToSignIn() {
    window.location.assign(signin);
  }

  function warn() {
    if (warned) {
      return;
    }
    warned = true;
    if (!dialog.open) {
      dialog.showModal();
    }
    if (stay) {
      stay.focus();
    }
  }

  function tick() {
    window.clearTimeout(timer);
    var remaining = deadline - Date.now();
    if (remaining <= 0) {
      goToSignIn();
      return;
    }
    if (remaining <= WARN_MS + GRACE_MS) {
      warn();
      timer = window.setTimeout(tick, remaining);
    } else {
      timer = window.setTimeout(tick, remaining - WARN_MS - GRACE_MS);
    }
  }

  function start(seconds) {
    deadline = Date.now() + seconds * 1000 + GRACE_MS;
    warned = false;
    tick();
  }

  form.addEventListener("submit", function (event) {
    if (typeof window.fetch !== "function" || typeof FormData === "undefined") {
      /* The form posts itself; the answer (204) leaves this page where it is. */
      dialog.close();
      start(idle);
      return;
    }
    event.preventDefault();
    var token = form.querySelector("input[name=csrf_token]");
    window
      .fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-CSRFToken": token ? token.value : "" },
        credentials: "same-origin",
        redirect: "manual",
      })
      .then(function (response) {
        if (response.status === 204) {
          dialog.close();
          start(idle);
        } else {
          goToSignIn(); /* signed out already, or the session changed */
        }
      })
      .catch(function () {
        /* No connection: the dialog stays open and the timer runs on. */
      });
  });

  /* Timers sleep in background tabs: look again when the page is seen. */
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      tick();
    }
  });

  start(left);
})();
