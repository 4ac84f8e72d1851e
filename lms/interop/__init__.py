"""Ways in and out of the platform: FHIR R4 resources, xAPI statements (and their push to
a learning-record store), API tokens."""
