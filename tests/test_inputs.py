"""Bad input is a message a person can act on, never an error page.

Each test here was a 500 before its fix; ``tests/test_fuzz.py`` looks for more.
"""

from __future__ import annotations

import pytest

from lms.passwords import MAX_LENGTH, password_problems
from tests.helpers import PASSWORD, login, make_user, post_form

# A strong sentence, cut to any length from 12 to 128 characters.
SENTENCE = (
    "violet harbours hum under slow copper rain while eleven quiet herons "
    "fold maps of the northern marsh beside a lantern nobody remembers lighting ok"
)


@pytest.mark.parametrize("length", [72, 73, 100, MAX_LENGTH])
def test_long_passwords_up_to_the_limit_are_judged_not_crashed_on(length):
    password = SENTENCE[:length]
    assert len(password) == length
    assert password_problems(password, email="pat@example.org", program_name="Family") == []


def test_a_long_password_can_be_chosen_on_the_account_page(app, client):
    user = make_user("family")
    login(client, user.email)
    new = SENTENCE[:100]
    response = post_form(
        client,
        "/auth/account",
        {
            "pw-current_password": PASSWORD,
            "pw-new_password": new,
            "pw-confirm": new,
            "pw-submit": "Change password",
        },
    )
    assert response.status_code == 302
    other = app.test_client()
    assert login(other, user.email, new).status_code == 302
