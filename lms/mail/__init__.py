"""Outgoing email: an outbox table first, then delivery; invitations, resets and reminders.

- ``outbox``: ``enqueue`` records a message under a unique dedupe key (recorded once, however
  many workers try); ``send_now`` / ``flush`` claim unsent rows (row locks on PostgreSQL, an
  atomic claim everywhere) and deliver them, keeping any error for the next run.
- ``transport``: SMTP (``MAIL_*`` settings), or with no ``MAIL_SERVER`` the log and files in
  the instance folder, so nothing is lost silently in development.
- ``messages``: each kind of email, rendered from ``templates/email/`` in discreet words.
- ``tokens``: signed password-reset and reminders-off links.
- ``reminders``: ``flask reminders send``: at most one email per person per run, a digest
  of the readings due soon or overdue (then weekly while overdue, twice by default).
- A discreet "new reading from your care team" email when something is assigned
  (``messages``; queued by ``assignments.operations.assign``), one per learner per request.
"""
