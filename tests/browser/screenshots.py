"""Screenshots of the key pages from the demo data, at desktop and phone size.

Run ``python -m tests.browser.screenshots`` (needs /usr/bin/chromium and Playwright, from the
``test`` extra). Writes ``docs/screenshots/<page>-<desktop|phone>.png``; each shows the first
screenful of the page, which keeps the files small.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.browser import support

OUT = support.ROOT / "docs" / "screenshots"

# (file name, who is signed in, how to get there)
SHOTS = [
    ("login", None, "/auth/login"),
    ("learner-home", "family", "/learn/"),
    ("module-section", "family", "section"),
    ("check", "family", "check"),
    ("check-result", "family", "result"),
    ("progress", "family", "/learn/progress"),
    ("library", "family", "/learn/library"),
    ("certificate", "family", "/learn/certificate"),
    ("how-this-site-works", "family", "/learn/welcome"),
    ("notes", "family", "/learn/notes"),
    ("patient-family", "patient", "/learn/family"),
    ("clinician-caseload", "clinician", "/clinic/"),
    ("clinician-patient", "clinician", "patient"),
]

_SPECIAL = {
    "section": support.PAGE_TYPES[[t.name for t in support.PAGE_TYPES].index("module-section")],
    "check": support.PAGE_TYPES[[t.name for t in support.PAGE_TYPES].index("check")],
    "result": support.PAGE_TYPES[[t.name for t in support.PAGE_TYPES].index("result")],
    "patient": support.PAGE_TYPES[[t.name for t in support.PAGE_TYPES].index("patient-page")],
}


def main(out: Path = OUT) -> list[Path]:
    from playwright.sync_api import sync_playwright

    reason = support.missing_resource()
    if reason:
        raise SystemExit(reason)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    server = support.LiveServer()
    try:
        with sync_playwright() as p:
            browser = support.launch(p)
            states = {}
            for role in {role for _name, role, _where in SHOTS if role}:
                context = browser.new_context()
                page = context.new_page()
                support.sign_in(page, server.url, support.ACCOUNTS[role])
                states[role] = context.storage_state()
                context.close()
            for name, role, where in SHOTS:
                for size, viewport in support.VIEWPORTS.items():
                    context = browser.new_context(
                        viewport=viewport,
                        storage_state=states.get(role),
                        device_scale_factor=1,
                    )
                    page = context.new_page()
                    if where.startswith("/"):
                        page.goto(server.url + where)
                    else:
                        _SPECIAL[where].open(page, server)
                    path = out / f"{name}-{size}.png"
                    page.screenshot(path=str(path), animations="disabled", caret="hide")
                    written.append(path)
                    context.close()
            browser.close()
    finally:
        server.close()
    return written


if __name__ == "__main__":
    for path in main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(f"{path.relative_to(support.ROOT)}  {path.stat().st_size // 1024} KB")
