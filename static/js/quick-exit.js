/* Quick exit: leave this site at once for a neutral one, signed out.
 *
 * Without JavaScript the "Quick exit" control is a plain link: to the neutral site, or, for
 * someone signed in, to a sign-out address that goes on to it (auth.leave, with a token bound
 * to the session). With JavaScript:
 * - the page is hidden immediately, before the neutral site has loaded;
 * - someone signed in is signed out by a POST with the CSRF token from data-csrf (fetch with
 *   keepalive, so it outlives the page); the page, already hidden, waits for the server's
 *   answer for at most SIGN_OUT_WAIT_MS before leaving, so that "Back" straight after finds
 *   the session ended rather than racing the sign-out; without fetch a beacon is sent, and
 *   without either the sign-out link is used instead;
 * - the current history entry is first rewritten to the site's start page, then replaced by
 *   the neutral site (location.replace), so the back button does not return to this page;
 * - pressing Escape twice (within two seconds) does the same from anywhere on the page.
 * Earlier pages of this visit stay in the tab's history: no browser lets a page remove them,
 * but with the session ended they open on the sign-in page (pages are never stored, and
 * session-timeout.js reloads one the back-forward cache restores).
 */
(function () {
  "use strict";

  var link = document.querySelector("[data-quick-exit]");
  if (!link) {
    return;
  }
  var target = link.getAttribute("data-exit-url") || link.href;
  var signOut = link.getAttribute("data-sign-out");
  var token = link.getAttribute("data-csrf");
  var leaving = false;
  var lastEscape = 0;

  /* The longest the hidden page waits for the sign-out's answer before leaving anyway. */
  var SIGN_OUT_WAIT_MS = 800;

  function signOutData() {
    var data = new FormData();
    data.append("csrf_token", token);
    return data;
  }

  function signOutThen(go) {
    /* Sign out, then call go(destination) once: when the server has answered, or after
     * SIGN_OUT_WAIT_MS, whichever comes first. */
    var gone = false;
    function once(destination) {
      if (!gone) {
        gone = true;
        go(destination);
      }
    }
    if (!signOut || !token) {
      once(target); /* nobody to sign out */
      return;
    }
    if (typeof FormData === "undefined") {
      once(link.href); /* the link's own sign-out address goes on to the neutral site */
      return;
    }
    if (typeof window.fetch === "function") {
      try {
        window
          .fetch(signOut, {
            method: "POST",
            body: signOutData(),
            credentials: "same-origin",
            keepalive: true,
            redirect: "manual",
          })
          .then(
            function () {
              once(target);
            },
            function () {
              once(target);
            }
          );
        window.setTimeout(function () {
          once(target);
        }, SIGN_OUT_WAIT_MS);
        return;
      } catch (ignored) {
        /* fall through to the beacon */
      }
    }
    var sent = false;
    if (navigator.sendBeacon) {
      try {
        sent = navigator.sendBeacon(signOut, signOutData());
      } catch (ignored) {
        sent = false;
      }
    }
    once(sent ? target : link.href);
  }

  function leave(event) {
    if (event) {
      event.preventDefault();
    }
    if (leaving) {
      return;
    }
    leaving = true;
    document.documentElement.classList.add("quick-exit-leaving");
    document.title = "";
    try {
      window.history.replaceState(null, "", "/");
    } catch (ignored) {
      /* Not allowed here: location.replace below still replaces this entry. */
    }
    signOutThen(function (destination) {
      window.location.replace(destination);
    });
  }

  link.addEventListener("click", leave);

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") {
      return;
    }
    var now = Date.now();
    if (now - lastEscape <= 2000) {
      leave(event);
    } else {
      lastEscape = now;
    }
  });
})();
