"""The interface's translations (``lms/translations``): what CI checks about the catalogue, the
tools that keep it in step with the code (``lms.i18n_cli``), and that the app reads it.

The catalogue checks read the real code and the real ``.po``: a string added to the code and
not to the catalogue, an empty or fuzzy translation, a placeholder lost in translation, or a
``.mo`` not compiled from the ``.po`` fails here with the msgids and what to run.
"""

from __future__ import annotations

import io

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po, write_po
from flask_babel import force_locale, get_translations, gettext

from lms import i18n_cli
from lms.extensions import db
from lms.models import User
from tests.helpers import PASSWORD, login, make_user, post_form, text_of

LANGS = i18n_cli.languages()


def test_there_is_a_spanish_catalogue():
    assert "es" in LANGS
    assert i18n_cli.mo_path("es").exists()


@pytest.fixture(scope="module")
def problems():
    """Each language's problems against the code as it is now (extracted once)."""
    code = i18n_cli.extracted()
    return {lang: i18n_cli.check(lang, code) for lang in LANGS}


def _explain(lang: str, what: str, msgids: list[str]) -> str:
    shown = "\n".join(f"  {m!r}" for m in msgids[:200])
    more = f"\n  … and {len(msgids) - 200} more" if len(msgids) > 200 else ""
    return (
        f"{lang}: {len(msgids)} {what}:\n{shown}{more}\n"
        f"Run `flask --app wsgi translate update`, translate them in "
        f"{i18n_cli.po_path(lang).relative_to(i18n_cli.ROOT)}, then "
        f"`flask --app wsgi translate compile`."
    )


@pytest.mark.parametrize("lang", LANGS)
def test_every_string_of_the_code_is_in_the_catalogue(problems, lang):
    missing = problems[lang].missing
    assert not missing, _explain(lang, "strings in the code but not in the catalogue", missing)


@pytest.mark.parametrize("lang", LANGS)
def test_every_string_is_translated(problems, lang):
    """Every string in the catalogue has its translation (none left empty)."""
    empty = problems[lang].untranslated
    assert not empty, _explain(lang, "strings not translated (msgstr empty)", empty)


@pytest.mark.parametrize("lang", LANGS)
def test_no_translation_is_fuzzy(problems, lang):
    fuzzy = problems[lang].fuzzy
    assert not fuzzy, _explain(lang, "translations marked fuzzy (check, then unmark)", fuzzy)


@pytest.mark.parametrize("lang", LANGS)
def test_translations_keep_their_placeholders(problems, lang):
    wrong = problems[lang].placeholders
    assert not wrong, _explain(lang, "translations whose %(...)s placeholders differ", wrong)


@pytest.mark.parametrize("lang", LANGS)
def test_the_compiled_catalogue_is_fresh(problems, lang):
    assert not problems[lang].stale_mo, (
        f"{i18n_cli.mo_path(lang).relative_to(i18n_cli.ROOT)} is not what "
        f"{i18n_cli.po_path(lang).relative_to(i18n_cli.ROOT)} compiles to. "
        "Run `flask --app wsgi translate compile` and commit the .mo."
    )


# --- the tools themselves ---------------------------------------------------------------


def test_extraction_finds_lazy_python_and_template_strings():
    code = i18n_cli.extracted()
    lazy = code.get("Enter a date as YYYY-MM-DD, for example 2025-03-14.")  # lms/forms.py, _l
    assert lazy is not None and any(f == "lms/forms.py" for f, _ in lazy.locations)
    template = code.get("Skip to main content")
    assert template is not None and any(f.startswith("templates/") for f, _ in template.locations)
    # A learner's refusal raised in the grading rules (formerly an f-string): extractable, and
    # marked as a format so translators keep the placeholder.
    graded = code.get("Question %(number)s: use each step once.")
    assert graded is not None and graded.python_format
    plural = code.get(
        (
            "Please answer every question. Unanswered: question %(numbers)s.",
            "Please answer every question. Unanswered: questions %(numbers)s.",
        )
    )
    assert plural is not None and plural.pluralizable
    # Locations are relative to the repository, the same on every machine.
    assert all(not f.startswith("/") for m in code for f, _ in m.locations)


@pytest.mark.parametrize(
    ("msgid", "msgstr", "ok"),
    [
        ("Hello %(name)s", "Hola %(name)s", True),
        ("Hello %(name)s", "Hola %(nombre)s", False),
        ("Hello %(name)s", "Hola", False),
        ("%(n)d overdue", "%(n)d atrasadas", True),
        ("%(n)d overdue", "%(n)s atrasadas", False),
        ("%(a)s and %(b)s", "%(b)s y %(a)s", True),
        ("100%% sure about %(x)s", "%(x)s: 100%% seguro", True),
        ("No placeholders", "Sin marcadores", True),
    ],
)
def test_placeholders_must_match(msgid, msgstr, ok):
    from babel.messages.catalog import Message

    assert i18n_cli._placeholders_match(Message(msgid, msgstr)) is ok


def test_a_singular_may_say_one_instead_of_the_number():
    from babel.messages.catalog import Message

    plural = ("%(num)d reading for %(name)s", "%(num)d readings for %(name)s")
    good = Message(plural, ("Una lectura para %(name)s", "%(num)d lecturas para %(name)s"))
    lost = Message(plural, ("Una lectura", "%(num)d lecturas para %(name)s"))
    invented = Message(plural, ("%(count)d lectura", "%(num)d lecturas para %(name)s"))
    assert i18n_cli._placeholders_match(good)
    assert not i18n_cli._placeholders_match(lost)
    assert not i18n_cli._placeholders_match(invented)


def _write_po(path, entries, *, num_plurals=2):
    catalog = Catalog(locale="es")
    if num_plurals == 2:  # the catalogue's rule; Babel's own for Spanish has three forms
        catalog._num_plurals, catalog._plural_expr = 2, "(n != 1)"
    for msgid, msgstr, flags in entries:
        catalog.add(msgid, msgstr, flags=flags)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        write_po(f, catalog)


@pytest.fixture
def tmp_catalogue(tmp_path, monkeypatch):
    """The tools pointed at a catalogue folder of the test's own."""
    monkeypatch.setattr(i18n_cli, "TRANSLATIONS", tmp_path / "translations")
    return tmp_path / "translations"


PLURAL = ("%(num)d reading", "%(num)d readings")


def test_compile_leaves_out_what_is_not_fully_translated(tmp_catalogue):
    _write_po(
        i18n_cli.po_path("es"),
        [
            ("Done", "Listo", ()),
            ("Not yet", "", ()),
            ("Guess", "Adivinanza", ("fuzzy",)),
            (PLURAL, ("%(num)d lectura", "%(num)d lecturas"), ()),
            (("%(num)d day", "%(num)d days"), ("%(num)d día", ""), ()),
        ],
    )
    compiled = read_mo(io.BytesIO(i18n_cli.compiled("es")))
    kept = {k: v for (k, _), v in i18n_cli.mo_entries(i18n_cli.compiled("es")).items() if k}
    # An empty plural form would show nothing at all (Babel's write_mo keeps it): left out,
    # the English shows instead.
    assert kept == {"Done": "Listo", PLURAL: ("%(num)d lectura", "%(num)d lecturas")}
    assert compiled.plural_forms == "nplurals=2; plural=(n != 1);"


def test_check_names_each_kind_of_problem(tmp_catalogue):
    _write_po(
        i18n_cli.po_path("es"),
        [
            ("Done", "Listo", ()),
            ("Not yet", "", ()),
            ("Guess", "Adivinanza", ("fuzzy",)),
            ("Hi %(name)s", "Hola", ("python-format",)),
        ],
    )
    code = Catalog()
    for msgid in ("Done", "Not yet", "Guess", "Hi %(name)s", "Brand new"):
        code.add(msgid)
    problems = i18n_cli.check("es", code)
    assert problems.missing == ["Brand new"]
    assert problems.untranslated == ["Not yet"]
    assert problems.fuzzy == ["Guess"]
    assert problems.placeholders == ["Hi %(name)s"]
    assert problems.stale_mo  # never compiled
    report = problems.report("es")
    assert "'Brand new'" in report and "flask --app wsgi translate update" in report
    assert "translate compile" in report

    i18n_cli.mo_path("es").write_bytes(i18n_cli.compiled("es"))
    assert not i18n_cli.check("es", code).stale_mo
    _write_po(i18n_cli.po_path("es"), [("Done", "Hecho", ())])  # changed after compiling
    assert i18n_cli.check("es", code).stale_mo


def test_merge_takes_translators_work_without_overwriting(tmp_catalogue, tmp_path, runner):
    _write_po(
        i18n_cli.po_path("es"),
        [
            ("Done", "", ()),
            ("Kept", "Conservado", ()),
            ("Guess", "Adivinanza", ("fuzzy",)),
            ("Still empty", "", ()),
            (PLURAL, ("", ""), ()),
        ],
    )
    source = tmp_path / "chunk.po"
    # A translator's chunk, with Babel's three Spanish plural forms (one, many, other).
    _write_po(
        source,
        [
            ("Done", "Listo", ()),
            ("Kept", "Otra cosa", ()),
            ("Guess", "Suposición", ()),
            ("Still empty", "Borrador", ("fuzzy",)),
            ("Gone from the code", "Ya no está", ()),
            (PLURAL, ("%(num)d lectura", "", "%(num)d lecturas"), ()),
        ],
        num_plurals=3,
    )
    result = runner.invoke(args=["translate", "merge", str(source)])
    assert result.exit_code == 0, result.output
    assert "3 translations taken; 1 for strings the code no longer has" in result.output
    with open(i18n_cli.po_path("es"), "rb") as f:
        merged = read_po(f, locale="es")
    assert merged.get("Done").string == "Listo"
    assert merged.get("Kept").string == "Conservado"  # not overwritten
    assert merged.get("Guess").string == "Suposición" and not merged.get("Guess").fuzzy
    assert merged.get("Still empty").string == ""  # a fuzzy source is not taken
    assert merged.get(PLURAL).string == ("%(num)d lectura", "%(num)d lecturas")
    assert merged.num_plurals == 2


def test_compile_command_writes_what_the_check_compares(tmp_catalogue, runner):
    _write_po(i18n_cli.po_path("es"), [("Done", "Listo", ())])
    result = runner.invoke(args=["translate", "compile"])
    assert result.exit_code == 0, result.output
    assert "1 of 1 messages (100%) translated" in result.output
    assert i18n_cli.mo_is_fresh("es")


# --- the app reads the catalogue -----------------------------------------------------------


def test_the_app_loads_the_committed_catalogue(app):
    with app.test_request_context(), force_locale("es"):
        assert str(i18n_cli.mo_path("es")) in get_translations().files


def test_translated_strings_reach_the_reader(app):
    with open(i18n_cli.po_path("es"), "rb") as f:
        catalog = read_po(f, locale="es")
    done = [
        m
        for m in list(catalog)[1:]
        if isinstance(m.id, str) and m.string and not m.fuzzy and not m.python_format
    ]
    assert len(done) > 100, "the Spanish catalogue should be translated"
    with app.test_request_context(), force_locale("es"):
        for message in done[:50]:
            assert gettext(message.id) == message.string


# --- WTForms' own messages ----------------------------------------------------------------

REQUIRED_ES = "Este campo es obligatorio."
REQUIRED_EN = "This field is required."


@pytest.mark.parametrize(("accept", "expected"), [("es", REQUIRED_ES), ("en", REQUIRED_EN)])
def test_validation_messages_follow_the_browser(client, accept, expected):
    headers = {"Accept-Language": accept}
    response = post_form(client, "/auth/login", {"email": "", "password": ""}, headers=headers)
    page = text_of(response)
    assert expected in page
    assert (REQUIRED_EN if expected == REQUIRED_ES else REQUIRED_ES) not in page


def test_validation_messages_follow_the_account_setting(app, client):
    user = make_user("family")
    with app.app_context():
        db.session.get(User, user.id).locale = "es"
        db.session.commit()
    english = {"Accept-Language": "en"}
    assert login(client, user.email, PASSWORD, headers=english).status_code == 302
    response = post_form(client, "/auth/confirm", {"password": ""}, headers=english)
    page = text_of(response)
    assert REQUIRED_ES in page and REQUIRED_EN not in page
