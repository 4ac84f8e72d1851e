"""Patients: enrolment, family links, care teams, discharge, emergency access."""
