"""The clinician dashboard in pages: the summary counts the whole caseload on every page, the
filter, sort and search travel with the page links, a family on a later page is found by
search, a page past the last shows the last, and the number of queries does not grow with
the page or the caseload. The counts behind the flags follow the one status rule
(``assignments.status``) exactly as the per-assignment SQL does."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from lms import clock, insight
from lms.assignments import queries as assignment_q
from lms.assignments import status as status_rules
from lms.assignments.status import AssignmentStatus
from lms.extensions import db
from lms.models import FamilyLink, LinkState, ModuleProgress, Patient, User
from tests.helpers import (
    count_queries,
    login,
    make_assignment,
    make_family,
    make_patient,
    make_user,
    text_of,
)


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def build(clinician, n: int, *, start: int = 0, overdue_every: int = 3):
    """``n`` families named "Family NNN", every ``overdue_every``-th with an overdue reading."""
    for i in range(start, start + n):
        patient = make_patient(clinician, name=f"Family {i:03d}")
        member = make_user("family", name=f"Member {i:03d}")
        make_family(patient, member)
        due = -2 if i % overdue_every == 0 else 5
        make_assignment(patient, member, "first-steps", due_in_days=due)


def tiles(page: str) -> str:
    part = page.split('class="tiles"')[1].split("</ul>")[0]
    return " ".join(re.sub(r"<[^>]+>", " ", part).split())


def nav_links(page: str) -> list[str]:
    nav = page.split('class="pagination"')[1].split("</nav>")[0]
    return [html.unescape(href) for href in re.findall(r'href="([^"]+)"', nav)]


def test_the_summary_counts_the_whole_caseload_on_every_page(app):
    clinician = make_user("clinician")
    build(clinician, 60)  # 20 overdue families: Family 000, 003, … 057
    client = signed_in(app, clinician)
    first = text_of(client.get("/clinic/?sort=name"))
    third = text_of(client.get("/clinic/?sort=name&page=3"))
    for page in (first, third):
        assert "20 families need help" in tiles(page)
        assert "20 overdue readings (20 families)" in tiles(page)
    assert "Page 1 of 3" in first and "Page 3 of 3" in third
    assert "Family 000" in first and "Family 024" in first and "Family 025" not in first
    assert "Family 050" in third and "Family 049" not in third
    # Needs help first: the 20 overdue families fill page 1 before any other.
    needs_help = text_of(client.get("/clinic/"))
    assert needs_help.count("Mark contacted") == 20
    assert "Family 003" in needs_help and "Family 001" in needs_help  # 5 on track after them


def test_page_links_keep_the_filter_sort_and_search(app):
    clinician = make_user("clinician")
    build(clinician, 80, overdue_every=1)  # every family overdue: four pages
    client = signed_in(app, clinician)
    page = text_of(client.get("/clinic/?status=all&show=overdue&sort=name&q=family&page=2"))
    assert "Page 2 of 4" in page
    links = nav_links(page)
    for href in links:
        for kept in ("status=all", "show=overdue", "sort=name", "q=family"):
            assert kept in href, href
    # Previous (the first), next, last.
    assert [re.search(r"page=(\d+)", href).group(1) for href in links] == ["1", "3", "4"]
    assert 'rel="prev"' in page and 'rel="next"' in page and "Last page" in page
    third = text_of(client.get("/clinic/?sort=name&page=3"))
    assert [re.search(r"page=(\d+)", href).group(1) for href in nav_links(third)] == [
        "1",
        "2",
        "4",
    ]
    assert "First page" in third and "Last page" not in third
    last = text_of(client.get("/clinic/?sort=name&page=4"))
    assert "Next page" not in last and 'aria-current="page">Page 4 of 4' in last


def test_a_family_on_a_later_page_is_found_by_search(app):
    clinician = make_user("clinician")
    build(clinician, 40)
    client = signed_in(app, clinician)
    assert "Member 038" not in text_of(client.get("/clinic/?sort=name"))
    assert "Member 038" in text_of(client.get("/clinic/?sort=name&page=2"))
    found = text_of(client.get("/clinic/?q=member+038"))
    assert "1 family found for “member 038”" in found
    assert "Family 038" in found and "Page 1" not in found  # one page, no page nav


def test_a_page_past_the_last_shows_the_last(app):
    clinician = make_user("clinician")
    build(clinician, 30)
    client = signed_in(app, clinician)
    page = text_of(client.get("/clinic/?sort=name&page=99"))
    assert "Page 2 of 2" in page and "Family 029" in page
    assert client.get("/clinic/?page=0").status_code == 200


def test_families_of_one_name_keep_their_order_across_pages(app):
    clinician = make_user("clinician")
    for _ in range(30):
        make_patient(clinician, name="Same Name")
    client = signed_in(app, clinician)
    with app.app_context():
        ids = sorted(
            db.session.scalars(select(Patient.id).where(Patient.display_name == "Same Name"))
        )
    shown = []
    for page in (1, 2):
        text = text_of(client.get(f"/clinic/?sort=name&page={page}"))
        shown += [int(pid) for pid in re.findall(r'href="/clinic/patients/(\d+)"', text)]
    assert shown == ids


def test_queries_do_not_grow_with_the_page_or_the_caseload(app):
    clinician = make_user("clinician")
    build(clinician, 30)
    client = signed_in(app, clinician)
    small = [count_queries(app, client, f"/clinic/?sort=name&page={p}") for p in (1, 2)]
    build(clinician, 45, start=30)
    large = [count_queries(app, client, f"/clinic/?sort=name&page={p}") for p in (1, 2, 3)]
    assert len(set(small + large)) == 1, (small, large)
    searched = count_queries(app, client, "/clinic/?q=member&show=overdue&sort=activity&page=2")
    assert searched == small[0]


@pytest.mark.parametrize("status", ["active", "discharged", "all"])
def test_counts_follow_the_status_rule_of_every_reading(app, status):
    """The dashboard groups readings by the facts the status rule reads and asks the rule's
    Python form once per group; the result must be what the rule's SQL form gives for every
    reading one by one (``assignments.queries.counts_by_patient``)."""
    clinician = make_user("clinician")
    today = clock.today()
    own = make_user("patient")
    active = make_patient(clinician, name="Active Family", user=own)
    gone = make_patient(clinician, name="Discharged Family", status="discharged")
    consented, withdrawn, expired, removed = (make_user("family") for _ in range(4))
    make_family(active, consented)
    make_family(active, withdrawn, consent="withdrawn")
    make_family(active, expired, consent="expired")
    removed_link, _ = make_family(active, removed)
    make_family(gone, make_user("family"))
    learners = [own, consented, withdrawn, expired, removed]
    for learner in learners:
        make_assignment(active, learner, "first-steps", due_in_days=-3)  # overdue unless done
        make_assignment(active, learner, "no-check", due_in_days=4)
    make_assignment(active, consented, "other-one", due_in_days=None)
    cancelled = make_assignment(active, own, "cancelled-one", due_in_days=-9)
    member = make_user("family")
    make_family(gone, member)
    make_assignment(gone, member, "first-steps", due_in_days=-3)
    make_assignment(gone, member, "no-check", due_in_days=3)
    with app.app_context():
        from lms.models import Assignment

        db.session.get(Assignment, cancelled).cancelled_at = clock.utcnow()
        db.session.get(FamilyLink, removed_link).state = LinkState.REMOVED
        now = clock.utcnow()
        # Done, done on an earlier version, started: for some learners and readings.
        db.session.add_all(
            [
                ModuleProgress(
                    user_id=own.id,
                    module_slug="no-check",
                    completed_at=now,
                    completed_version="old",
                ),
                ModuleProgress(user_id=consented.id, module_slug="first-steps", completed_at=now),
                ModuleProgress(user_id=withdrawn.id, module_slug="no-check"),
                ModuleProgress(user_id=member.id, module_slug="first-steps", completed_at=now),
            ]
        )
        db.session.commit()
        user = db.session.get(User, clinician.id)
        rows = {r.patient.id: r for r in insight.caseload_rows(user, status=status, today=today)}
        expected = assignment_q.counts_by_patient(list(rows), today)
    assert rows, status
    for pid, row in rows.items():
        counts = expected.get(pid, {})

        def total(statuses, counts=counts):
            return sum(counts[s].count for s in statuses if s in counts)

        assert row.assigned == total(status_rules.COUNTED), pid
        assert row.completed == total(status_rules.DONE), pid
        assert row.overdue == total({AssignmentStatus.OVERDUE}), pid
        assert row.suspended == total(status_rules.SUSPENDED), pid
    if status != "discharged":
        family = rows[active.id]
        # The patient's own first reading is overdue; the consented member finished theirs;
        # the withdrawn, expired and removed members' readings wait (two each).
        assert (family.assigned, family.completed, family.overdue, family.suspended) == (
            11,
            2,
            1,
            6,
        )
    if status != "active":
        assert (rows[gone.id].completed, rows[gone.id].suspended) == (1, 1)
