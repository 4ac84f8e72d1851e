"""The "Listen" button of a module section: the browser's own speech synthesis reads the
section's text in the page's language; the button says what pressing it will do and whether
it is reading.
An init script wraps ``speechSynthesis.speak`` and ``cancel`` to record what was asked (the
real API still runs); one stands in for a voice that keeps reading; another removes speech
synthesis to show that no button appears."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import support

pytestmark = support.requires_browser

# Records what is asked of the real API, and every state the button passes through.
RECORD = """
(() => {
  window.__spoken = [];
  window.__cancelled = 0;
  window.__pressed = [];
  new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.target.matches && change.target.matches('button.listen-button')) {
        window.__pressed.push(change.target.getAttribute('aria-pressed'));
      }
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['aria-pressed'] });
  if (!window.speechSynthesis) { return; }
  const speak = window.speechSynthesis.speak.bind(window.speechSynthesis);
  const cancel = window.speechSynthesis.cancel.bind(window.speechSynthesis);
  window.speechSynthesis.speak = (utterance) => {
    window.__spoken.push({ text: utterance.text, lang: utterance.lang });
    return speak(utterance);
  };
  window.speechSynthesis.cancel = () => {
    window.__cancelled += 1;
    return cancel();
  };
})();
"""

# A voice that never finishes: Chromium here has no voices (speak ends at once with
# "synthesis-failed"), so stopping a reading that is under way needs one that keeps going.
ENDLESS_VOICE = """
(() => {
  window.__spoken = [];
  window.__cancelled = 0;
  let queue = [];
  window.speechSynthesis.speak = (utterance) => {
    window.__spoken.push(utterance.text);
    queue.push(utterance);
  };
  window.speechSynthesis.cancel = () => {
    window.__cancelled += 1;
    const stopped = queue;
    queue = [];
    for (const u of stopped) {
      setTimeout(() => u.dispatchEvent(
        new SpeechSynthesisErrorEvent('error', { utterance: u, error: 'interrupted' })));
    }
  };
})();
"""

NO_SPEECH = """
delete window.speechSynthesis;
delete window.SpeechSynthesisUtterance;
"""


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_listen_reads_the_section_aloud(new_page, server):
    page = new_page("family")
    page.add_init_script(RECORD)
    support._section(page, server)
    section = page.locator("[data-listen]")
    expect(section).to_have_count(1)
    button = page.get_by_role("button", name="Listen")
    expect(button).to_have_count(1)
    expect(button).to_have_attribute("aria-pressed", "false")
    # Just before the text it reads.
    before = "() => document.querySelector('[data-listen]').previousElementSibling.textContent"
    assert page.evaluate(before) == "Listen"

    button.click()

    page.wait_for_function("() => window.__spoken.length > 0")
    spoken = page.evaluate("() => window.__spoken")
    assert words(" ".join(s["text"] for s in spoken)) == words(section.inner_text())
    assert {s["lang"] for s in spoken} == {page.evaluate("document.documentElement.lang")}
    assert page.evaluate("() => window.__pressed")[0] == "true"  # reading
    # Here the browser has no voice and gives up at once: the button is ready again.
    # With a voice, it says "Stop reading" until the last paragraph is read.
    expect(page.locator("button.listen-button[aria-pressed=false]")).to_have_text("Listen")


def test_pressing_again_stops_reading(new_page, server):
    page = new_page("family")
    page.add_init_script(ENDLESS_VOICE)
    support._section(page, server)

    page.get_by_role("button", name="Listen").click()

    stop = page.get_by_role("button", name="Stop reading")
    expect(stop).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(300)
    expect(stop).to_have_attribute("aria-pressed", "true")  # still reading
    cancelled = page.evaluate("() => window.__cancelled")

    stop.click()

    listen = page.get_by_role("button", name="Listen")
    expect(listen).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("() => window.__cancelled") > cancelled
    page.wait_for_timeout(300)  # the "interrupted" errors of the stopped reading change nothing
    expect(listen).to_have_attribute("aria-pressed", "false")

    # Leaving the page stops too.
    listen.click()
    expect(page.get_by_role("button", name="Stop reading")).to_be_visible()
    cancelled = page.evaluate("() => window.__cancelled")
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    assert page.evaluate("() => window.__cancelled") > cancelled
    expect(listen).to_have_attribute("aria-pressed", "false")


def test_a_button_for_every_section_on_the_whole_module_page(new_page, server):
    page = new_page("family")
    support._module("view=all")(page, server)
    sections = page.locator("[data-listen]").count()
    assert sections > 1
    expect(page.get_by_role("button", name="Listen")).to_have_count(sections)


def test_no_button_without_speech_synthesis(new_page, server):
    page = new_page("family")
    page.add_init_script(NO_SPEECH)
    support._section(page, server)
    expect(page.locator("[data-listen]")).to_have_count(1)
    assert page.evaluate("() => typeof window.speechSynthesis") == "undefined"
    expect(page.get_by_role("button", name="Listen")).to_have_count(0)


def test_no_button_without_javascript(new_page, server, signed_in_states):
    page = new_page(java_script_enabled=False, storage_state=signed_in_states("family"))
    support._section(page, server)
    expect(page.locator("[data-listen]")).to_have_count(1)
    expect(page.get_by_role("button", name="Listen")).to_have_count(0)
