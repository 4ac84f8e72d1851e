"""audit rows chained by hash; TRUNCATE refused

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 09:00:00.000000

Existing audit rows are linked in id order (the order they were written). The append-only
triggers are dropped around the backfill, which has to fill the new columns, and created
again afterwards, with the new ones: TRUNCATE refused on PostgreSQL, and the chain head never
deleted.
"""

import sqlalchemy as sa
from alembic import op

from lms.audit.chain import HASHED_FIELDS, row_hash
from lms.models.audit import GENESIS_HASH, append_only_statements, chain_statements
from lms.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 1000

_events = sa.table(
    "audit_event",
    sa.column("id", sa.Integer()),
    sa.column("at", UTCDateTime()),
    sa.column("actor_id", sa.Integer()),
    sa.column("action", sa.String()),
    sa.column("subject_type", sa.String()),
    sa.column("subject_id", sa.Integer()),
    sa.column("patient_id", sa.Integer()),
    sa.column("outcome", sa.String()),
    sa.column("ip", sa.String()),
    sa.column("detail", sa.String()),
    sa.column("chain_seq", sa.Integer()),
    sa.column("prev_hash", sa.String()),
    sa.column("row_hash", sa.String()),
)


def _drop_append_only(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")


def _backfill(bind) -> tuple[int, str]:
    """Link every existing row, a batch at a time, in id order; return the last seq and hash."""
    seq, previous, after_id = 0, GENESIS_HASH, 0
    read = [c for c in _events.c if c.name not in ("chain_seq", "prev_hash", "row_hash")]
    while True:
        rows = bind.execute(
            sa.select(*read).where(_events.c.id > after_id).order_by(_events.c.id).limit(BATCH)
        ).all()
        if not rows:
            return seq, previous
        links = []
        for row in rows:
            seq += 1
            fields = {**row._mapping, "chain_seq": seq, "prev_hash": previous}
            previous = row_hash({name: fields[name] for name in HASHED_FIELDS})
            links.append({"key": row.id, "seq": seq, "prev": fields["prev_hash"], "hash": previous})
        bind.execute(
            _events.update()
            .where(_events.c.id == sa.bindparam("key"))
            .values(
                chain_seq=sa.bindparam("seq"),
                prev_hash=sa.bindparam("prev"),
                row_hash=sa.bindparam("hash"),
            ),
            links,
        )
        after_id = rows[-1].id


def upgrade():
    bind = op.get_bind()
    dialect = bind.dialect.name
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))

    _drop_append_only(dialect)
    last_seq, last_hash = _backfill(bind)
    op.bulk_insert(head, [{"id": 1, "last_seq": last_seq, "last_hash": last_hash}])

    # On SQLite this rebuilds the table, which would drop its triggers anyway.
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.alter_column("chain_seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("row_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_event_chain_seq"), ["chain_seq"])

    for statement in append_only_statements(dialect) + chain_statements(dialect):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_chain_head_no_delete ON audit_chain_head")
        op.execute("DROP FUNCTION IF EXISTS audit_chain_head_keep()")
    _drop_append_only(dialect)
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_event_chain_seq"), type_="unique")
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("chain_seq")
    for statement in append_only_statements(dialect):
        op.execute(statement)
    op.drop_table("audit_chain_head")
