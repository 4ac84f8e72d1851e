"""Clinic pages: the FHIR export (registered on the clinic blueprint).

One patient's records, or the whole caseload's, as a FHIR R4 ``Bundle`` for the program's
health-record system (built in ``lms.interop.fhir``). Like the CSV exports: the password is
asked again when the sign-in is not recent, the export is audited (``fhir.export``, with how
many patients it covers) in the request's transaction, and the file's name carries neither a
name nor a record number.
"""

from __future__ import annotations

from flask import Response
from flask_login import current_user

from lms import access, audit, clock
from lms.blueprints.clinic.routes import bp
from lms.interop import fhir
from lms.security import recent_auth_required


def _download(body: str, filename: str) -> Response:
    return Response(
        body,
        mimetype=fhir.MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/patients/<patient_id>/fhir")
@recent_auth_required()
def patient_fhir(patient_id: str):
    """One patient's records as a FHIR Bundle. 404 unless the patient is on the caseload
    (and a ``patient.denied`` row); audited as ``fhir.export``."""
    me = current_user._get_current_object()
    patient = access.patient_for(me, patient_id)
    audit.record("fhir.export", subject=patient, patient_id=patient.id, detail="patient bundle")
    body = fhir.to_json(fhir.patient_bundle(patient))
    return _download(body, f"patient-{patient.id}-fhir.json")


@bp.route("/fhir")
@recent_auth_required()
def caseload_fhir():
    """Every patient on the caseload as one FHIR Bundle; one audit row with the count."""
    me = current_user._get_current_object()
    bundle = fhir.caseload_bundle(me)
    audit.record("fhir.export", detail=f"caseload bundle, {fhir.patient_count(bundle)} patients")
    body = fhir.to_json(bundle)
    return _download(body, f"caseload-fhir-{clock.today().isoformat()}.json")
