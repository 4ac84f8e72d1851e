"""Discreet wording: what an email's subject (seen on a lock screen, in a shared inbox) never says.

Subjects and previews never name a diagnosis, a substance, the kind of program or the patient.
``check_discreet`` refuses a subject with a word from the deny-list before it is recorded.
"""

from __future__ import annotations

import re

DENY_WORDS = (
    "substance",
    "alcohol",
    "alcoholic",
    "drug",
    "drugs",
    "drinking",
    "opioid",
    "opioids",
    "opiate",
    "heroin",
    "fentanyl",
    "cocaine",
    "meth",
    "cannabis",
    "marijuana",
    "addiction",
    "addict",
    "addicted",
    "recovery",
    "relapse",
    "sober",
    "sobriety",
    "overdose",
    "withdrawal",
    "treatment",
    "rehab",
    "detox",
    "iop",
    "outpatient",
    "inpatient",
    "therapy",
    "therapist",
    "counseling",
    "clinic",
    "clinical",
    "clinician",
    "mental",
    "psychiatric",
    "depression",
    "anxiety",
    "bipolar",
    "diagnosis",
    "patient",
    "sud",
    "aud",
    "oud",
    "mat",
    "naloxone",
    "narcan",
    "methadone",
    "buprenorphine",
    "suboxone",
)
_WORD = re.compile(r"[a-z]+")


class IndiscreetSubject(ValueError):
    pass


def denied_words(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The deny-listed words (and any ``extra`` phrases, such as names) found in ``text``."""
    words = set(_WORD.findall(text.lower()))
    found = [w for w in DENY_WORDS if w in words]
    lowered = " ".join(_WORD.findall(text.lower()))
    for phrase in extra:
        needle = " ".join(_WORD.findall(phrase.lower()))
        if needle and re.search(rf"\b{re.escape(needle)}\b", lowered):
            found.append(phrase)
    return found


def check_discreet(subject: str) -> None:
    found = denied_words(subject)
    if found:
        raise IndiscreetSubject(f"email subject would reveal too much: {found}")
