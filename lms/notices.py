"""The notice that must go with every disclosure made with the patient's consent.

42 CFR 2.32(a) as amended by the 2024 final rule (89 FR 12472, Feb. 16, 2024; compliance by
Feb. 16, 2026): each disclosure with written consent carries Statement 1 or Statement 2.
The site shows Statement 2 where a family member sees anything about a patient, with
Statement 1 one click away; printed consents, reports and CSV exports carry Statement 1.
2.32(b) also asks for a copy of the consent or a clear explanation of its scope: family
members see what the patient agreed to share and until when (``learn/index.html``).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATEMENT_1 = (
    "This record which has been disclosed to you is protected by Federal confidentiality "
    "rules (42 CFR part 2). These rules prohibit you from using or disclosing this record, "
    "or testimony that describes the information contained in this record, in any civil, "
    "criminal, administrative, or legislative proceedings by any Federal, State, or local "
    "authority, against the patient, unless authorized by the consent of the patient, except "
    "as provided at 42 CFR 2.12(c)(5) or as authorized by a court in accordance with 42 CFR "
    "2.64 or 2.65. In addition, the Federal rules prohibit you from making any other use or "
    "disclosure of this record unless at least one of the following applies: (i) Further use "
    "or disclosure is expressly permitted by the written consent of the individual whose "
    "information is being disclosed in this record or as otherwise permitted by 42 CFR part "
    "2. (ii) You are a covered entity or business associate and have received the record for "
    "treatment, payment, or health care operations, or (iii) You have received the record "
    "from a covered entity or business associate as permitted by 45 CFR part 164, subparts A "
    "and E. A general authorization for the release of medical or other information is NOT "
    "sufficient to meet the required elements of written consent to further use or "
    "redisclose the record (see 42 CFR 2.31)."
)
STATEMENT_2 = "42 CFR part 2 prohibits unauthorized use or disclosure of these records."

# Plain words beside the legal text, for a worried parent reading it at home.
PLAIN = _l(
    "In plain words: what you see here about the person you support is private. Please do "
    "not pass it on to anyone else unless they agree in writing."
)


def csv_notice_rows() -> list[list[str]]:
    """The rows an export starts with, before its header."""
    return [["Notice (42 CFR 2.32): " + STATEMENT_1], []]
