"""The OpenAPI 3.1 document of ``/api/v1/``, as data.

Served at ``/api/v1/openapi.json``. Tests check that it is a valid OpenAPI document
(``openapi_spec_validator``), that it names exactly the routes the app has under ``/api/v1/``,
and that real answers match it (``tests/test_api_schemathesis.py``).
"""

from __future__ import annotations

import copy

from lms.blueprints.api import PREFIX

_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
_DAY = {"type": ["string", "null"], "format": "date"}
_MOMENT = {"type": ["string", "null"], "format": "date-time"}
_TEXT_OR_NULL = {"type": ["string", "null"]}

_PROBLEM = {
    "type": "object",
    "description": "An error, as RFC 9457 describes (application/problem+json).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}

_PATIENT = {
    "type": "object",
    "required": ["id", "name", "record_number", "status", "enrolled_on", "discharged_on"],
    "properties": {
        "id": _ID,
        "name": {"type": "string", "description": "As the clinic shows it."},
        "record_number": _TEXT_OR_NULL,
        "status": {"type": "string", "enum": ["active", "discharged"]},
        "enrolled_on": {"type": "string", "format": "date"},
        "discharged_on": _DAY,
    },
}

_FAMILY_MEMBER = {
    "type": "object",
    "required": ["id", "user_id", "name", "relationship", "state"],
    "properties": {
        "id": {**_ID, "description": "The family link's id."},
        "user_id": {
            "type": ["integer", "null"],
            "description": "The family member's login, once they joined.",
        },
        "name": {"type": "string"},
        "relationship": {"type": "string"},
        "state": {"type": "string", "enum": ["invited", "active", "removed"]},
    },
}

_ASSIGNMENT = {
    "type": "object",
    "required": [
        "id",
        "learner_id",
        "module",
        "path",
        "assigned_at",
        "due_on",
        "status",
        "completed_at",
        "cancelled_at",
    ],
    "properties": {
        "id": _ID,
        "learner_id": _ID,
        "module": {"type": "string", "description": "The reading's slug."},
        "path": _TEXT_OR_NULL,
        "assigned_at": {"type": "string", "format": "date-time"},
        "due_on": _DAY,
        "status": {
            "type": "string",
            "enum": [
                "not_started",
                "in_progress",
                "overdue",
                "completed",
                "completed_earlier_version",
                "suspended_no_consent",
                "suspended_discharged",
                "cancelled",
            ],
        },
        "completed_at": _MOMENT,
        "cancelled_at": _MOMENT,
    },
}

_ATTEMPT = {
    "type": "object",
    "required": [
        "id",
        "learner_id",
        "module",
        "content_version",
        "score",
        "correct",
        "total",
        "pass_mark",
        "passed",
        "submitted_at",
    ],
    "properties": {
        "id": _ID,
        "learner_id": _ID,
        "module": {"type": "string"},
        "content_version": {"type": "string"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "correct": {"type": "integer", "minimum": 0},
        "total": {"type": "integer", "minimum": 0},
        "pass_mark": {"type": "number", "minimum": 0, "maximum": 1},
        "passed": {"type": "boolean"},
        "submitted_at": {"type": "string", "format": "date-time"},
    },
}

_CHECKIN = {
    "type": "object",
    "description": "One WHO-5 Well-Being Index check-in: 0–100, higher is better.",
    "required": ["id", "user_id", "relationship", "occasion", "score", "taken_at"],
    "properties": {
        "id": _ID,
        "user_id": _ID,
        "relationship": _TEXT_OR_NULL,
        "occasion": {"type": "string", "enum": ["start", "interval", "discharge"]},
        "score": {"type": "integer", "minimum": 0, "maximum": 100},
        "taken_at": {"type": "string", "format": "date-time"},
    },
}


def _list_of(item_ref: str) -> dict:
    return {
        "type": "object",
        "required": ["data", "page", "per_page", "total", "next"],
        "properties": {
            "data": {"type": "array", "items": {"$ref": item_ref}},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0},
            "next": {
                "type": ["string", "null"],
                "description": "The path of the next page, or null on the last one.",
            },
        },
    }


def _problem_response(description: str) -> dict:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


_PAGE_PARAMS = [
    {"$ref": "#/components/parameters/page"},
    {"$ref": "#/components/parameters/per_page"},
]
_PATIENT_ID = {"$ref": "#/components/parameters/patient_id"}


def _operation(
    operation_id: str, summary: str, schema_ref: str, *, params: list, paged: bool
) -> dict:
    responses = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": schema_ref}}},
        },
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "404": {"$ref": "#/components/responses/NotFound"},
        "405": {"$ref": "#/components/responses/MethodNotAllowed"},
        "429": {"$ref": "#/components/responses/TooManyRequests"},
        "500": {"$ref": "#/components/responses/ServerError"},
    }
    if paged:
        responses["400"] = {"$ref": "#/components/responses/BadRequest"}
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "parameters": [*params, *(_PAGE_PARAMS if paged else [])],
            "responses": responses,
        }
    }


_DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "Family education program: read-only API",
        "version": "1.0.0",
        "description": (
            "Read-only JSON for staff integrations. Every call except this document needs "
            "a personal access token made by an administrator, sent as "
            "'Authorization: Bearer <token>'. A token reads one clinician's caseload or the "
            "whole program; a patient it does not reach is a 404. Calls are rate-limited "
            "per token and audited."
        ),
    },
    "servers": [{"url": PREFIX}],
    "security": [{"bearerToken": []}],
    "paths": {
        "/patients": _operation(
            "listPatients",
            "The patients this token reaches",
            "#/components/schemas/PatientList",
            params=[],
            paged=True,
        ),
        "/patients/{patient_id}": _operation(
            "getPatient",
            "One patient with their family members",
            "#/components/schemas/PatientDetail",
            params=[_PATIENT_ID],
            paged=False,
        ),
        "/patients/{patient_id}/assignments": _operation(
            "listAssignments",
            "Readings given for the patient's care, with status and due date",
            "#/components/schemas/AssignmentList",
            params=[_PATIENT_ID],
            paged=True,
        ),
        "/patients/{patient_id}/attempts": _operation(
            "listAttempts",
            "Knowledge-check attempts of the patient and their family members",
            "#/components/schemas/AttemptList",
            params=[_PATIENT_ID],
            paged=True,
        ),
        "/patients/{patient_id}/wellbeing": _operation(
            "listWellbeing",
            "WHO-5 wellbeing check-ins of the patient's family members",
            "#/components/schemas/WellbeingList",
            params=[_PATIENT_ID],
            paged=True,
        ),
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "405": {"$ref": "#/components/responses/MethodNotAllowed"},
                    "429": {"$ref": "#/components/responses/TooManyRequests"},
                },
            }
        },
    },
    "components": {
        "securitySchemes": {
            "bearerToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "A personal access token (it starts with 'iop_').",
            }
        },
        "parameters": {
            "patient_id": {
                "name": "patient_id",
                "in": "path",
                "required": True,
                "schema": _ID,
            },
            "page": {
                "name": "page",
                "in": "query",
                "required": False,
                "description": "Which page, from 1.",
                "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1},
            },
            "per_page": {
                "name": "per_page",
                "in": "query",
                "required": False,
                "description": "Items per page, 1 to 100.",
                "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
            },
        },
        "responses": {
            "BadRequest": _problem_response("A parameter is not valid; 'detail' says which."),
            "Unauthorized": {
                **_problem_response("No token, or a token that does not work (any reason)."),
                "headers": {
                    "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}
                },
            },
            "NotFound": _problem_response("Nothing this token may read is at this address."),
            "MethodNotAllowed": _problem_response("Only GET is answered."),
            "TooManyRequests": {
                **_problem_response(
                    "Too many calls with this token, or too many refused tokens from this "
                    "address; wait, then try again."
                ),
                "headers": {
                    "Retry-After": {
                        "schema": {"type": "string"},
                        "description": "Seconds to wait.",
                    }
                },
            },
            "ServerError": _problem_response("An error on the server; nothing was changed."),
        },
        "schemas": {
            "Problem": _PROBLEM,
            "Patient": _PATIENT,
            "FamilyMember": _FAMILY_MEMBER,
            "PatientDetail": {
                "allOf": [
                    {"$ref": "#/components/schemas/Patient"},
                    {
                        "type": "object",
                        "required": ["family"],
                        "properties": {
                            "family": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/FamilyMember"},
                            }
                        },
                    },
                ]
            },
            "Assignment": _ASSIGNMENT,
            "Attempt": _ATTEMPT,
            "WellbeingCheckin": _CHECKIN,
            "PatientList": _list_of("#/components/schemas/Patient"),
            "AssignmentList": _list_of("#/components/schemas/Assignment"),
            "AttemptList": _list_of("#/components/schemas/Attempt"),
            "WellbeingList": _list_of("#/components/schemas/WellbeingCheckin"),
        },
    },
}


def document() -> dict:
    """The document (a copy: callers may change theirs)."""
    return copy.deepcopy(_DOCUMENT)
