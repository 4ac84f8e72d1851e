"""Typed SQLAlchemy models, shared by every blueprint."""

from lms.models.audit import AuditEvent
from lms.models.caseload import CaseloadMove
from lms.models.clinical import (
    Assignment,
    CareTeamMember,
    Consent,
    EmergencyAccess,
    FamilyLink,
    Invitation,
    LinkState,
    Patient,
    PatientStatus,
    Relationship,
)
from lms.models.followup import FollowUp
from lms.models.interop import ApiToken, RosterImport, XapiOutbox
from lms.models.learning import ModuleProgress, QuizAnswer, QuizAttempt, SectionRead
from lms.models.mail import Outbox
from lms.models.outcomes import LearningGoal, WellbeingCheck
from lms.models.practice import PracticeNote, WorksheetAnswers
from lms.models.sessions import Attendance, AttendanceStatus, EducationSession, SessionModule
from lms.models.submission import Submission
from lms.models.user import RecoveryCode, Role, User, normalize_email

__all__ = [
    "ApiToken",
    "LearningGoal",
    "RosterImport",
    "WellbeingCheck",
    "XapiOutbox",
    "Assignment",
    "Attendance",
    "AttendanceStatus",
    "EducationSession",
    "SessionModule",
    "AuditEvent",
    "CareTeamMember",
    "CaseloadMove",
    "Consent",
    "EmergencyAccess",
    "FamilyLink",
    "FollowUp",
    "Invitation",
    "LinkState",
    "Patient",
    "PatientStatus",
    "Relationship",
    "ModuleProgress",
    "Outbox",
    "PracticeNote",
    "QuizAnswer",
    "QuizAttempt",
    "RecoveryCode",
    "Role",
    "SectionRead",
    "Submission",
    "User",
    "WorksheetAnswers",
    "normalize_email",
]
