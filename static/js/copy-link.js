/* Copy an invitation link: progressive enhancement.
 *
 * Without JavaScript the link sits in a read-only text field that can be selected and copied
 * by hand. With it, the "Copy link" button next to the field (hidden until this script runs)
 * copies the link and says so in a polite live region.
 */
(function () {
  "use strict";

  function say(status, key) {
    if (status) {
      status.textContent = status.getAttribute(key) || "";
    }
  }

  function fallbackCopy(field) {
    field.focus();
    field.select();
    try {
      return document.execCommand("copy");
    } catch (ignored) {
      return false;
    }
  }

  var buttons = document.querySelectorAll("[data-copy-for]");
  Array.prototype.forEach.call(buttons, function (button) {
    var field = document.getElementById(button.getAttribute("data-copy-for"));
    if (!field) {
      return;
    }
    var status = button.parentNode.querySelector("[data-copy-status]");
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = field.value;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () {
            say(status, "data-copied");
          },
          function () {
            say(status, fallbackCopy(field) ? "data-copied" : "data-failed");
          }
        );
      } else {
        say(status, fallbackCopy(field) ? "data-copied" : "data-failed");
      }
    });
  });

  /* Clicking into the field selects the whole link, ready to copy by hand. */
  var fields = document.querySelectorAll("[data-copy-link]");
  Array.prototype.forEach.call(fields, function (field) {
    field.addEventListener("focus", function () {
      field.select();
    });
  });
})();
