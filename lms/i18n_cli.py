"""The interface's translations: ``flask translate extract|update|compile|stats|check|merge``.

The Flask-Babel convention (as in the Flask Mega-Tutorial): ``babel.cfg`` names the sources;
``messages.pot`` is extracted from them (``_``, ``gettext``, ``ngettext`` and the lazy ``_l``);
each language's ``lms/translations/<lang>/LC_MESSAGES/messages.po`` is updated from it, never by
fuzzy matching (a near-miss translation of another sentence is worse than none: the English
shows until someone translates it); and compiled to the ``messages.mo`` the app reads
(Flask-Babel's default folder, ``translations`` beside ``lms/__init__.py``). The ``.mo`` is
committed and ``tests/test_translations.py`` checks it is fresh, every string of the code is in
the catalogue, translated, not fuzzy, with the same placeholders.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import click
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import CommandLineInterface, parse_keywords, parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po
from flask import Flask
from flask.cli import AppGroup

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
POT = TRANSLATIONS / "messages.pot"  # a by-product of extraction; not committed
# Besides Babel's defaults (_, gettext, ngettext, pgettext, ...): the lazy forms.
KEYWORDS = ("_l", "lazy_gettext", "lazy_ngettext:1,2", "lazy_pgettext:1c,2")
PROJECT = "Family Learning"

WORKFLOW = (
    "flask --app wsgi translate update, then translate the new or changed strings in "
    "lms/translations/<lang>/LC_MESSAGES/messages.po, then flask --app wsgi translate compile"
)

translate_cli = AppGroup("translate", help="The interface's translations (lms/translations).")


def _pybabel(*args: str) -> None:
    status = CommandLineInterface().run(["pybabel", "-q", *args])
    if status:
        raise click.ClickException(f"pybabel {args[0]} failed")


def _searched(dirpath: str) -> bool:
    """Every folder but hidden ones and caches. Babel's default also skips folders whose name
    starts with "_", which left out ``templates/_macros`` and ``templates/_partials`` (as
    ``pybabel extract`` does unless given ``--ignore-dirs '.*' --ignore-dirs __pycache__``)."""
    name = os.path.basename(dirpath)
    return not name.startswith(".") and name not in ("__pycache__", "node_modules")


def extract(pot: Path = POT) -> Catalog:
    """Extract every string of the code and templates (``babel.cfg``) into ``pot``, as
    ``pybabel extract -F babel.cfg -k _l ... -o messages.pot .`` run at the repository's
    root would (locations relative to it)."""
    with open(BABEL_CFG) as f:
        method_map, options_map = parse_mapping_cfg(f, str(BABEL_CFG))
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(KEYWORDS)}
    catalog = Catalog(project=PROJECT, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT,
        method_map,
        options_map,
        keywords=keywords,
        comment_tags=("TRANSLATORS:",),
        directory_filter=_searched,
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    pot.parent.mkdir(parents=True, exist_ok=True)
    with open(pot, "wb") as f:
        write_po(f, catalog, width=76)
    with open(pot, "rb") as f:
        return read_po(f)


def extracted() -> Catalog:
    """The strings the code has now, extracted into a temporary file."""
    with tempfile.TemporaryDirectory() as tmp:
        return extract(Path(tmp) / "messages.pot")


def languages() -> list[str]:
    return sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


def read_catalog(lang: str) -> Catalog:
    with open(po_path(lang), "rb") as f:
        return read_po(f, locale=lang)


def _write_catalog(lang: str, catalog: Catalog) -> None:
    with open(po_path(lang), "wb") as f:
        write_po(f, catalog, width=76)


def _complete(message: Message) -> bool:
    """Translated in every form. Babel's ``write_mo`` keeps a plural whose forms are empty,
    and gettext would then show nothing at all; left out, the English shows instead."""
    forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return all(forms)


def compiled(lang: str) -> bytes:
    """The ``.mo`` the ``.po`` compiles to: translated, not fuzzy messages only."""
    catalog = read_catalog(lang)
    for message in list(catalog)[1:]:
        if not _complete(message):
            catalog.delete(message.id, context=message.context)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def _tuple(value):
    return tuple(value) if isinstance(value, list) else value


def mo_entries(data: bytes) -> dict:
    """``{(msgid, context): msgstr}`` of a compiled catalogue and its plural rule (the rest of
    the header left out), so two ``.mo`` files compare by what they translate, not by their
    bytes (dates, Babel's version)."""
    catalog = read_mo(io.BytesIO(data))
    entries: dict = {
        (_tuple(m.id), m.context): _tuple(m.string) for m in catalog if m.id and m.string
    }
    entries[("", "Plural-Forms")] = catalog.plural_forms
    return entries


def mo_is_fresh(lang: str) -> bool:
    path = mo_path(lang)
    if not path.exists():
        return False
    return mo_entries(path.read_bytes()) == mo_entries(compiled(lang))


# %(name)s, %s, %d, %.1f ... ; "%%" is a literal percent sign, not a placeholder.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def placeholders(text: str) -> list[str]:
    return sorted(p for p in PLACEHOLDER.findall(text) if p != "%%")


@dataclass
class Problems:
    """What keeps a language's catalogue from being complete, by kind (msgids in each)."""

    missing: list[str] = field(default_factory=list)  # in the code, not in the .po
    untranslated: list[str] = field(default_factory=list)  # msgstr empty (any plural form)
    fuzzy: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)  # msgstr's differ from msgid's
    stale_mo: bool = False

    def __bool__(self) -> bool:
        return bool(
            self.missing or self.untranslated or self.fuzzy or self.placeholders or self.stale_mo
        )

    def report(self, lang: str) -> str:
        lines = []
        for title, ids in (
            ("in the code but not in the catalogue", self.missing),
            ("not translated", self.untranslated),
            ("marked fuzzy (check the translation, then remove the fuzzy flag)", self.fuzzy),
            ("placeholders differ between msgid and msgstr", self.placeholders),
        ):
            if ids:
                lines.append(f"{len(ids)} {title}:")
                lines += [f"  {msgid!r}" for msgid in ids]
        if self.stale_mo:
            lines.append(f"{_shown(mo_path(lang))} is not compiled from the .po")
        lines.append(f"Fix: {WORKFLOW}.")
        return "\n".join(lines)


def _placeholders_match(message: Message) -> bool:
    if isinstance(message.id, tuple | list):
        singular, plural = message.id
        forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
        wanted = set(placeholders(singular)) | set(placeholders(plural))
        for form in forms:
            found = placeholders(form)
            # A singular form may say "one" instead of "%(num)d"; nothing else may go.
            if not set(found) <= wanted or not (wanted - {"%(num)d", "%(num)s"}) <= set(found):
                return False
        return True
    return placeholders(message.id) == placeholders(message.string)


def _key(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def check(lang: str, code: Catalog | None = None) -> Problems:
    """Everything wrong with ``lang``'s catalogue against the code (extracted now unless
    given)."""
    code = code if code is not None else extracted()
    catalog = read_catalog(lang)
    problems = Problems()
    for message in list(code)[1:]:
        if catalog.get(message.id, context=message.context) is None:
            problems.missing.append(_key(message))
    for message in list(catalog)[1:]:
        if not _complete(message):
            problems.untranslated.append(_key(message))
        elif message.fuzzy:
            problems.fuzzy.append(_key(message))
        elif not _placeholders_match(message):
            problems.placeholders.append(_key(message))
    problems.stale_mo = not mo_is_fresh(lang)
    return problems


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def statistics(lang: str) -> str:
    """pybabel's line ("N of M messages (P%) translated"), plus fuzzy and empty counts."""
    messages = list(read_catalog(lang))[1:]
    total = len(messages)
    translated = sum(1 for m in messages if _complete(m) and not m.fuzzy)
    fuzzy = sum(1 for m in messages if m.fuzzy)
    percent = translated * 100 // total if total else 0
    path = _shown(po_path(lang))
    return (
        f"{translated} of {total} messages ({percent}%) translated in {path}; "
        f"{fuzzy} fuzzy, {total - translated - fuzzy} empty"
    )


@translate_cli.command("extract")
def extract_command() -> None:
    """Extract the strings of the code and templates into lms/translations/messages.pot."""
    catalog = extract()
    click.echo(f"{len(catalog)} strings in {_shown(POT)}")


@translate_cli.command("init")
@click.argument("lang")
def init_command(lang: str) -> None:
    """Start a catalogue for a new language (e.g. ``fr``)."""
    if po_path(lang).exists():
        raise click.ClickException(f"{_shown(po_path(lang))} exists; use update")
    extract()
    _pybabel("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", lang)
    POT.unlink()


@translate_cli.command("update")
def update_command() -> None:
    """Bring every language's .po in line with the code: new strings empty, no fuzzy guesses;
    translations of strings the code no longer has are kept at the end, commented out."""
    extract()
    _pybabel(
        "update",
        "-i",
        str(POT),
        "-d",
        str(TRANSLATIONS),
        "--no-fuzzy-matching",
        "--width",
        "76",
    )
    POT.unlink()
    for lang in languages():
        click.echo(statistics(lang))


@translate_cli.command("compile")
def compile_command() -> None:
    """Compile each .po into the .mo the app reads (untranslated and fuzzy strings stay
    English)."""
    for lang in languages():
        mo_path(lang).write_bytes(compiled(lang))
        click.echo(statistics(lang))


@translate_cli.command("stats")
def stats_command() -> None:
    """How much of each language is translated."""
    for lang in languages():
        click.echo(statistics(lang))


@translate_cli.command("check")
def check_command() -> None:
    """Fail unless every string of the code is translated, not fuzzy, with the same
    placeholders, and the .mo is compiled from the .po (what CI checks)."""
    code = extracted()
    failed = False
    for lang in languages():
        problems = check(lang, code)
        click.echo(statistics(lang))
        if problems:
            failed = True
            click.echo(problems.report(lang), err=True)
    if failed:
        raise SystemExit(1)


def _forms(string, num_plurals: int):
    """A translation fitted to the catalogue's number of plural forms. Babel proposes three
    for Spanish (CLDR's "many" is for exact millions); the catalogue keeps gettext's usual two
    (singular, plural), so a three-form source gives its singular and its "other" form."""
    if not isinstance(string, tuple | list):
        return string
    if len(string) == num_plurals:
        return tuple(string)
    if len(string) > num_plurals:
        return (*string[: num_plurals - 1], string[-1] or string[num_plurals - 1])
    return ()


@translate_cli.command("merge")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--lang", default="es", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace translations the catalogue has.")
def merge_command(sources: tuple[str, ...], lang: str, overwrite: bool) -> None:
    """Take the translations in other .po files (e.g. work split between translators) into
    the catalogue: an empty or fuzzy entry with the same msgid gets the source's translation,
    unless that one is empty or fuzzy itself. Run ``translate update`` first."""
    catalog = read_catalog(lang)
    taken = unused = 0
    for source in sources:
        with open(source, "rb") as f:
            other = read_po(f, locale=lang)
        for message in list(other)[1:]:
            string = _forms(message.string, catalog.num_plurals)
            if (
                message.fuzzy
                or not string
                or not all(string if isinstance(string, tuple) else [string])
            ):
                continue
            mine = catalog.get(message.id, context=message.context)
            if mine is None:
                unused += 1
                continue
            if _complete(mine) and not mine.fuzzy and not overwrite:
                continue
            mine.string = string
            mine.flags.discard("fuzzy")
            taken += 1
    _write_catalog(lang, catalog)
    click.echo(f"{taken} translations taken; {unused} for strings the code no longer has")
    click.echo(statistics(lang))


def register(app: Flask) -> None:
    app.cli.add_command(translate_cli)
