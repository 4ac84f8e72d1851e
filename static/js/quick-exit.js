/* Quick exit: leave this site at once for a neutral one.
 *
 * Without JavaScript the "Quick exit" control is a plain link to the neutral site. With it:
 * - the page is hidden immediately, before the neutral site has loaded;
 * - the current history entry is first rewritten to the site's start page, then replaced by
 *   the neutral site (location.replace), so the back button does not return to this page;
 * - pressing Escape twice (within two seconds) does the same from anywhere on the page.
 * Earlier pages of this visit stay in the tab's history: no browser lets a page remove them.
 */
(function () {
  "use strict";

  var link = document.querySelector("[data-quick-exit]");
  if (!link) {
    return;
  }
  var target = link.href;
  var leaving = false;
  var lastEscape = 0;

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
    window.location.replace(target);
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
