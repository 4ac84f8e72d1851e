"""The library: search (title, summary, objectives; every word; case and accents ignored),
the audience filter, the empty state, bad input, and a fixed number of queries."""

from __future__ import annotations

import re

import pytest

from lms import clock
from lms.content import load_library
from lms.extensions import db
from lms.learning import catalogue
from lms.models import ModuleProgress
from tests.helpers import NO_CHECK, count_queries, login, make_user, text_of, write_course

CARD_RE = re.compile(r'class="reading-title"><a href="/learn/modules/([^"]+)"')

EXTRA_YML = """\
title: More readings
summary: Readings for the search tests.
audience: [family, patient]
modules: [cafe-talk, naloxone-basics, urge-surfing]
"""

EXTRA = {
    # slug: (title, summary, audience, objectives)
    "cafe-talk": (
        "Café conversations",
        "Talking with your teenager over a warm drink.",
        "[family]",
        ("Plan a calm conversation", "Listen without judging", "Agree on one next step"),
    ),
    "naloxone-basics": (
        "Naloxone basics",
        "What to do in an overdose emergency.",
        "[family, patient]",
        ("Spot the signs of an overdose", "Give the nasal spray", "Call 911 and stay"),
    ),
    "urge-surfing": (
        "Riding out an urge",
        "A skill for cravings that come in waves.",
        "[patient]",
        ("Notice an urge rising", "Breathe through it", "Reach out to a sponsor"),
    ),
}


def module_text(title: str, summary: str, audience: str, objectives: tuple[str, ...]) -> str:
    """A valid module: the helpers' check-free module with this front matter."""
    text = NO_CHECK.replace("title: No check here", f'title: "{title}"')
    text = text.replace("summary: A module without a knowledge check.", f"summary: {summary}")
    text = text.replace("audience: [patient]", f"audience: {audience}")
    listed = "".join(f"  - {line}\n" for line in objectives)
    return text.replace(
        "  - Read a short page\n  - Mark it as read\n  - Finish the module\n", listed
    )


def write_extra(root, modules: dict) -> None:
    course = root / "more-readings"
    course.mkdir(parents=True, exist_ok=True)
    yml = EXTRA_YML.replace(
        "modules: [cafe-talk, naloxone-basics, urge-surfing]", f"modules: [{', '.join(modules)}]"
    )
    (course / "course.yml").write_text(yml)
    for slug, fields in modules.items():
        (course / f"{slug}.md").write_text(module_text(*fields))


@pytest.fixture
def courses(tmp_path):
    root = tmp_path / "courses"
    write_course(root)
    write_extra(root, EXTRA)
    return root


@pytest.fixture
def learner(client):
    user = make_user("family")
    login(client, user.email)
    return user


def shown(client, query: str = "") -> list[str]:
    response = client.get(f"/learn/library{query}")
    assert response.status_code == 200
    return CARD_RE.findall(text_of(response))


def test_the_extra_modules_loaded(app):
    assert set(EXTRA) <= {m.slug for m in app.extensions["lms_library"].modules()}


def test_browsing_shows_every_reading_grouped_by_course(client, learner):
    page = text_of(client.get("/learn/library"))
    groups = re.split(r'<section class="course-group" aria-labelledby="course-', page)[1:]
    by_course = {group.split('"', 1)[0]: CARD_RE.findall(group) for group in groups}
    assert by_course == {
        "test-course": ["first-steps", "no-check"],
        "more-readings": ["cafe-talk", "naloxone-basics", "urge-surfing"],
    }
    assert '<h2 id="course-more-readings">More readings</h2>' in page
    assert "readings match" not in page and "reading matches" not in page


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("naloxone", ["naloxone-basics"]),  # a title word
        ("cravings", ["urge-surfing"]),  # a summary word
        ("sponsor", ["urge-surfing"]),  # an objective word
        ("JUDGING", ["cafe-talk"]),  # case ignored
        ("cafe", ["cafe-talk"]),  # accents ignored one way…
        ("CAFÉ", ["cafe-talk"]),  # …and the other
        ("  overdose   naloxone ", ["naloxone-basics"]),  # every word, in any order
        ("overdose teenager", []),  # both words, but in different readings
        ("trig", ["first-steps"]),  # part of a word ("Name a trigger")
    ],
)
def test_search(client, learner, q, expected):
    assert shown(client, "?" + f"q={q}".replace(" ", "+")) == expected


def test_audience_filter(client, learner):
    assert sorted(shown(client, "?for=family")) == ["cafe-talk", "first-steps", "naloxone-basics"]
    assert sorted(shown(client, "?for=patient")) == ["naloxone-basics", "no-check", "urge-surfing"]


def test_search_and_audience_together(client, learner):
    assert shown(client, "?q=overdose&for=family") == ["naloxone-basics"]
    assert shown(client, "?q=urge&for=family") == []
    assert shown(client, "?q=urge&for=patient") == ["urge-surfing"]


def test_search_heading_counts_the_matches(client, learner):
    one = text_of(client.get("/learn/library?q=naloxone"))
    assert "1 reading matches “naloxone”" in one
    several = text_of(client.get("/learn/library?q=a"))
    count = len(CARD_RE.findall(several))
    assert count > 1 and f"{count} readings match “a”" in several
    assert re.search(r'<div role="status">\s*<h2 id="results-h">', several)
    # The form keeps what was asked, so the reader can change it.
    assert 'name="q" value="naloxone"' in one


def test_empty_state(client, learner):
    page = text_of(client.get("/learn/library?q=zebra+naloxone&for=family"))
    assert CARD_RE.findall(page) == []
    assert (
        'No readings match “zebra naloxone”. Try fewer words, or <a href="/learn/library">'
        "see all readings</a>." in page
    )
    assert '<option value="family" selected>' in page


def test_search_text_is_escaped(client, learner):
    page = text_of(client.get("/learn/library?q=%3Cscript%3Ealert(1)%3C/script%3E"))
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)" in page


def test_unknown_audience_means_every_reading(client, learner):
    for value in ("nobody", "", "FAMILY", "family%00"):
        assert len(shown(client, f"?for={value}")) == 5, value
    page = text_of(client.get("/learn/library?for=nobody"))
    assert '<option value="" selected>All readings</option>' in page


def test_long_and_odd_queries_are_cut_not_refused(client, learner):
    long_q = "naloxone " + "x" * 491
    response = client.get(f"/learn/library?q={long_q}")
    assert response.status_code == 200
    page = text_of(response)
    assert "x" * 91 + "”" in page and "x" * 92 not in page  # cut at 100 characters
    for odd in ("%00", "%EF%BF%BF", "%25", "%F0%9F%98%80", "q=1&q=2", "((", "%5C"):
        assert client.get(f"/learn/library?q={odd}").status_code == 200, odd


def test_clean_query_and_fold():
    assert catalogue.clean_query("  a \t b\x00c ") == "a b c"
    assert len(catalogue.clean_query("y" * 500)) == catalogue.MAX_QUERY
    assert catalogue.fold("Ça Éteint") == "ca eteint"
    assert catalogue.words_of("Café, naloxone!") == ("cafe", "naloxone")
    text = catalogue.fold("Café conversations")
    assert catalogue.matches(text, catalogue.words_of("CONVERS cafe"))
    assert not catalogue.matches(text, catalogue.words_of("cafe tea"))


def test_status_badge_on_each_card(app, client, learner):
    with app.app_context():
        db.session.add(
            ModuleProgress(
                user_id=learner.id,
                module_slug="cafe-talk",
                sections_read=1,
                sections_total=3,
                last_activity_at=clock.utcnow(),
            )
        )
        db.session.commit()
    page = text_of(client.get("/learn/library?q=cafe"))
    assert '<span class="badge warn">In progress</span>' in page
    assert text_of(client.get("/learn/library")).count("Not started") == 4


def test_icons_are_decorative_and_fall_back(client, learner):
    page = text_of(client.get("/learn/library?q=naloxone"))
    icon = re.search(r'<img class="reading-icon" src="([^"]+)" alt=""', page)
    assert icon is not None
    # No drawing of its own: the generic one.
    assert re.fullmatch(r"/static/img/modules/generic\.[0-9a-f]{12}\.svg", icon.group(1))
    response = client.get(icon.group(1))
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    response.close()


def test_every_shipped_module_has_its_own_or_its_topics_icon(app):
    from pathlib import Path

    shipped = load_library(Path(__file__).resolve().parents[1] / "courses")
    with app.test_request_context():
        icons = {m.slug: catalogue.icon_for(m.slug) for m in shipped.modules()}
    assert len(icons) >= 20
    missing = [slug for slug, icon in icons.items() if icon.endswith("/generic.svg")]
    assert not missing
    static = Path(app.static_folder)
    for icon in set(icons.values()):
        svg = (static / icon).read_text()
        assert svg.startswith("<svg") and "<script" not in svg and "href" not in svg


def test_search_text_is_built_once_per_library(app, client, learner, monkeypatch):
    calls = []
    real = catalogue.fold
    monkeypatch.setattr(catalogue, "fold", lambda text: calls.append(text) or real(text))
    catalogue._search_texts.cache_clear()
    client.get("/learn/library?q=naloxone")
    built = len(calls)
    assert built == len(EXTRA) + 2 + 1  # one text per module, then the query once
    client.get("/learn/library?q=sponsor")
    client.get("/learn/library?q=cafe")
    assert len(calls) == built + 2  # only the two new queries were folded


def test_library_query_count_does_not_grow_with_modules(app, client, learner, tmp_path):
    def progress_on(slugs):
        with app.app_context():
            for slug in slugs:
                db.session.add(
                    ModuleProgress(user_id=learner.id, module_slug=slug, sections_total=3)
                )
            db.session.commit()

    progress_on(["first-steps"])
    few = count_queries(app, client, "/learn/library")
    few_search = count_queries(app, client, "/learn/library?q=steps&for=family")

    many = {
        f"extra-{i:02d}": (f"Extra reading {i}", "More to read.", "[family]", EXTRA["cafe-talk"][3])
        for i in range(30)
    }
    root = tmp_path / "bigger"
    write_course(root)
    write_extra(root, many)
    app.extensions["lms_library"] = load_library(root)
    progress_on(list(many)[:20])
    page = text_of(client.get("/learn/library"))
    assert len(CARD_RE.findall(page)) == 32
    assert count_queries(app, client, "/learn/library") == few
    assert count_queries(app, client, "/learn/library?q=steps&for=family") == few_search
