"""Outgoing email: an outbox table first, then delivery; invitations, resets and reminders.

- ``outbox``: ``enqueue`` records a message under a unique dedupe key (recorded once, however
  many workers try); ``send_now`` / ``flush`` claim unsent rows (row locks on PostgreSQL, an
  atomic claim everywhere) and deliver them, keeping any error for the next run.
- ``transport``: SMTP (``MAIL_*`` settings), or with no ``MAIL_SERVER`` the log and files in
  the instance folder, so nothing is lost silently in development.
- ``messages``: each kind of email, rendered from ``templates/email/`` in discreet words.
- ``tokens``: signed password-reset and reminders-off links.
- ``reminders``: ``flask reminders send`` (due soon, overdue, then weekly while overdue).
"""
