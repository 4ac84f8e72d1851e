/* "Listen": read a section aloud with the browser's own speech synthesis.
 *
 * For each element marked data-listen (a module's section text), when the browser can speak
 * (speechSynthesis and SpeechSynthesisUtterance), a "Listen" button is put just before it.
 * Pressing it reads the element's text in the page's language; while it reads, the button
 * says "Stop reading" (aria-pressed="true") and pressing it again stops. Leaving the page
 * stops too. The words come from the page (<body data-listen-label data-stop-label>), so
 * they are translated with the rest. Nothing is sent anywhere; without support, no button.
 */
(function () {
  "use strict";

  var elements = document.querySelectorAll("[data-listen]");
  var body = document.body;
  if (!elements.length || !body) {
    return;
  }
  if (!window.speechSynthesis || typeof window.SpeechSynthesisUtterance !== "function") {
    return;
  }
  var listenLabel = body.getAttribute("data-listen-label");
  var stopLabel = body.getAttribute("data-stop-label");
  if (!listenLabel || !stopLabel) {
    return;
  }
  var synth = window.speechSynthesis;
  var lang = document.documentElement.getAttribute("lang") || "";
  var current = null; /* { button } while reading */

  function showIdle(button) {
    button.setAttribute("aria-pressed", "false");
    button.textContent = listenLabel;
  }

  function stop() {
    if (current) {
      showIdle(current.button);
      current = null;
    }
    synth.cancel();
  }

  /* One utterance per paragraph or list item: natural pauses, and no single utterance long
   * enough for a browser to cut it off. */
  function pieces(element) {
    var text = element.innerText || element.textContent || "";
    return text
      .split(/\n+/)
      .map(function (line) {
        return line.replace(/\s+/g, " ").trim();
      })
      .filter(function (line) {
        return line.length > 0;
      });
  }

  function read(button, element) {
    stop();
    var parts = pieces(element);
    if (!parts.length) {
      return;
    }
    var reading = { button: button };
    current = reading;
    button.setAttribute("aria-pressed", "true");
    button.textContent = stopLabel;
    parts.forEach(function (part, index) {
      var utterance = new window.SpeechSynthesisUtterance(part);
      if (lang) {
        utterance.lang = lang;
      }
      if (index === parts.length - 1) {
        utterance.addEventListener("end", function () {
          if (current === reading) {
            showIdle(button);
            current = null;
          }
        });
      }
      utterance.addEventListener("error", function (event) {
        /* "interrupted"/"canceled" come from stop(); anything else ends this reading. */
        if (current === reading && event.error !== "interrupted" && event.error !== "canceled") {
          stop();
        }
      });
      synth.speak(utterance);
    });
  }

  Array.prototype.forEach.call(elements, function (element) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button listen-button";
    showIdle(button);
    button.addEventListener("click", function () {
      if (current && current.button === button) {
        stop();
      } else {
        read(button, element);
      }
    });
    element.parentNode.insertBefore(button, element);
  });

  window.addEventListener("pagehide", stop);
})();
