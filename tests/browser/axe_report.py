"""Print axe's WCAG 2.0/2.1/2.2 A and AA violations for every page type at desktop and phone
size: ``python -m tests.browser.axe_report [--detail]``. The test suite asserts zero in
``test_accessibility.py``; this prints the counts (rules, elements) for a report."""

from __future__ import annotations

import sys

from tests.browser import support


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    reason = support.missing_resource()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    detail = "--detail" in argv
    server = support.LiveServer()
    total = 0
    try:
        with sync_playwright() as p:
            browser = support.launch(p)
            contexts = {}
            print(f"{'page type':<22} {'viewport':<8} rules elements")
            for page_type in support.PAGE_TYPES:
                for vp_name, viewport in support.VIEWPORTS.items():
                    if page_type.role not in contexts:
                        contexts[page_type.role] = browser.new_context()
                        if page_type.role:
                            page = contexts[page_type.role].new_page()
                            support.sign_in(page, server.url, support.ACCOUNTS[page_type.role])
                            page.close()
                    page = contexts[page_type.role].new_page()
                    page.set_viewport_size(viewport)
                    page_type.open(page, server)
                    violations = support.axe_violations(page)
                    elements = sum(len(v["nodes"]) for v in violations)
                    total += len(violations)
                    print(f"{page_type.name:<22} {vp_name:<8} {len(violations):>5} {elements:>8}")
                    if detail and violations:
                        print(support.describe(violations))
                    page.close()
            for context in contexts.values():
                context.close()
            browser.close()
    finally:
        server.close()
    return 1 if total else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
