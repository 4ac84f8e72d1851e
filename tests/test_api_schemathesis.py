"""The API against its own OpenAPI document, with Schemathesis: requests generated from the
document (valid ones, and ones breaking it: bad pages, ids out of range, no token), sent to
a test app holding a small program (patients on two caseloads, one discharged, family
members, readings overdue and not started, knowledge-check attempts, wellbeing check-ins)
with a program-wide token. No answer may be a 5xx, and every answer must match the document
(status, content type, headers, body)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from lms import clock
from lms.extensions import db
from lms.interop import tokens
from lms.models import User, WellbeingCheck
from tests.helpers import make_assignment, make_family, make_patient, make_user

# Enough cases per operation and mode to reach every branch of these small endpoints while
# keeping the module under a minute on either database.
EXAMPLES = 25


@pytest.fixture
def app_config(app_config):
    # The rate limit is tested in test_api.py; here it would turn most answers into 429s.
    return {**app_config, "API_RATE_LIMIT": "100000 per minute"}


@pytest.fixture
def program(app):
    """A small program like the demo's, and a program-wide token; the patients' ids."""
    from lms.learning import operations as learning

    with app.app_context():
        admin = make_user("admin")
        clinicians = [make_user("clinician"), make_user("clinician")]
        patient_ids = []
        for n in range(4):
            patient = make_patient(
                clinicians[n % 2],
                name=f"Patient «{n}» O'Brien",
                status="discharged" if n == 3 else "active",
            )
            patient.record_number = f"MRN-{n:04d}" if n % 2 else None
            family = make_user("family")
            make_family(patient, family, relationship=("parent", "partner", "sibling", "other")[n])
            make_assignment(patient, family, "first-steps", due_in_days=-3 + 4 * n)
            make_assignment(patient, family, "no-check", due_in_days=None)
            module = app.extensions["lms_library"].module("first-steps")
            answers = {q.id: q.correct_indices for q in module.quiz.questions}
            learning.submit_attempt(db.session.get(User, family.id), module, answers, f"t{n}")
            for days, item in ((40, 3), (10, 1)):
                db.session.add(
                    WellbeingCheck(
                        user_id=family.id,
                        occasion="start" if days == 40 else "interval",
                        submit_token=f"w{n}-{days}",
                        item1=item,
                        item2=item,
                        item3=item,
                        item4=item,
                        item5=item,
                        taken_at=clock.utcnow() - timedelta(days=days),
                    )
                )
            patient_ids.append(patient.id)
        _row, secret = tokens.create_token(
            db.session.get(User, admin.id), "Schemathesis", "program", None, 30
        )
        db.session.commit()
    return secret, patient_ids


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_5xx_and_every_answer_matches_the_document(app, program, mode):
    secret, patient_ids = program
    # The document as served; its operations are called on the app itself (WSGI), and so are
    # the checks' own extra requests (the same call without its token, with a wrong one).
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {secret}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    # Schemathesis leaves out the document's own address; every data endpoint is tested.
    assert {op.path for op in operations} >= {
        "/patients",
        "/patients/{patient_id}",
        "/patients/{patient_id}/assignments",
        "/patients/{patient_id}/attempts",
        "/patients/{patient_id}/wellbeing",
    }
    for operation in operations:
        strategies = [operation.as_strategy(generation_mode=mode, headers=headers)]
        if "{patient_id}" in operation.path and mode == GenerationMode.POSITIVE:
            # Generated ids rarely exist: also ask about the real patients.
            strategies += [
                operation.as_strategy(
                    generation_mode=mode, headers=headers, path_parameters={"patient_id": pid}
                )
                for pid in patient_ids
            ]

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies))
        def check(case):
            response = case.call()
            assert response.status_code < 500, (case.path, case.query, response.text[:300])
            assert "Set-Cookie" not in response.headers
            case.validate_response(response)

        check()
