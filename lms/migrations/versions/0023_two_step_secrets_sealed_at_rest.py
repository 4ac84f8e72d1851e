"""two-step sign-in secrets sealed at rest

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-27 23:00:00

``user.totp_secret`` and ``user.totp_pending_secret`` held the TOTP secrets as typed into an
authenticator app: a copy of the table was enough to make a member of staff's codes. They
become ``totp_secret_sealed`` and ``totp_pending_sealed`` (room for a Fernet token), each
existing secret sealed under the app's ``SECRET_KEY`` (``lms.sealing``) on the way; the old
columns are dropped. New columns are added and old ones dropped in place: "user" is never
rebuilt on SQLite (rows that reference it ON DELETE CASCADE would go with it). The downgrade
opens them again into the old columns.
"""

import sqlalchemy as sa
from alembic import op

from lms import sealing

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

PAIRS = (("totp_secret", "totp_secret_sealed"), ("totp_pending_secret", "totp_pending_sealed"))


def _copy(source: tuple[str, str], target: tuple[str, str], convert) -> None:
    connection = op.get_bind()
    user = sa.table("user", sa.column("id"), *(sa.column(name) for name in source + target))
    rows = connection.execute(
        sa.select(user.c.id, *(user.c[name] for name in source)).where(
            sa.or_(*(user.c[name].is_not(None) for name in source))
        )
    ).all()
    for row in rows:
        values = {
            new: convert(old_value) if old_value is not None else None
            for new, old_value in zip(target, row[1:], strict=True)
        }
        connection.execute(sa.update(user).where(user.c.id == row.id).values(**values))


def upgrade():
    with op.batch_alter_table("user", recreate="never") as batch:
        for _old, new in PAIRS:
            batch.add_column(sa.Column(new, sa.String(length=255), nullable=True))
    _copy(tuple(old for old, _ in PAIRS), tuple(new for _, new in PAIRS), sealing.seal)
    with op.batch_alter_table("user", recreate="never") as batch:
        for old, _new in PAIRS:
            batch.drop_column(old)


def downgrade():
    with op.batch_alter_table("user", recreate="never") as batch:
        for old, _new in PAIRS:
            batch.add_column(sa.Column(old, sa.String(length=64), nullable=True))
    _copy(tuple(new for _, new in PAIRS), tuple(old for old, _ in PAIRS), sealing.unseal)
    with op.batch_alter_table("user", recreate="never") as batch:
        for _old, new in PAIRS:
            batch.drop_column(new)
