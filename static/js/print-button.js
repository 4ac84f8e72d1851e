/* "Print this handout": progressive enhancement.
 *
 * Without JavaScript the handout says to use the browser's own Print command. With it, the
 * button (hidden until this script runs) opens the print dialog, and the hint goes away.
 */
(function () {
  "use strict";

  var buttons = document.querySelectorAll("[data-print]");
  if (!buttons.length || typeof window.print !== "function") {
    return;
  }
  Array.prototype.forEach.call(buttons, function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-print-hint]"), function (hint) {
    hint.hidden = true;
  });
})();
