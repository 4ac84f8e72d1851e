/* Quick exit: leave this site at once for a neutral one, signed out.
 *
 * Without JavaScript the "Quick exit" control is a plain link: to the neutral site, or, for
 * someone signed in, to a sign-out address that goes on to it (auth.leave, with a token bound
 * to the session). With JavaScript:
 * - the page is hidden immediately, before the neutral site has loaded;
 * - someone signed in is signed out by a beacon (POST with the CSRF token from data-csrf),
 *   sent without waiting for an answer; without sendBeacon the sign-out link is used instead;
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

  function sendSignOut() {
    /* True when the sign-out is on its way (or there is nobody to sign out). */
    if (!signOut || !token) {
      return true;
    }
    if (!navigator.sendBeacon || typeof FormData === "undefined") {
      return false;
    }
    try {
      var data = new FormData();
      data.append("csrf_token", token);
      return navigator.sendBeacon(signOut, data);
    } catch (ignored) {
      return false;
    }
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
    /* Without a beacon, the link's own sign-out address goes on to the neutral site. */
    var destination = sendSignOut() ? target : link.href;
    try {
      window.history.replaceState(null, "", "/");
    } catch (ignored) {
      /* Not allowed here: location.replace below still replaces this entry. */
    }
    window.location.replace(destination);
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
