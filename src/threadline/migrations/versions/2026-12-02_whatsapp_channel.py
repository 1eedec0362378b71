"""whatsapp channel

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 18:52:52.005391
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_webhooks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column(
            "errors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_webhooks")),
    )
    op.create_table(
        "message_status_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=False),
        sa.Column("wamid", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("meta_timestamp", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_status_events")),
        sa.UniqueConstraint(
            "whatsapp_config_id",
            "wamid",
            "status",
            name=op.f("uq_message_status_events_whatsapp_config_id_wamid_status"),
        ),
    )
    with op.batch_alter_table("message_status_events", schema=None) as batch_op:
        batch_op.create_index("ix_message_status_events_wamid", ["wamid"], unique=False)

    op.create_table(
        "customers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("external_customer_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_customers_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint(
            "project_id",
            "external_customer_id",
            name=op.f("uq_customers_project_id_external_customer_id"),
        ),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_project_id"), ["project_id"], unique=False)

    op.create_table(
        "whatsapp_contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("wa_id", sa.String(length=20), nullable=False),
        sa.Column("profile_name", sa.String(length=200), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_whatsapp_contacts_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_whatsapp_contacts_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_contacts")),
        sa.UniqueConstraint(
            "project_id", "wa_id", name=op.f("uq_whatsapp_contacts_project_id_wa_id")
        ),
    )
    op.create_table(
        "sandbox_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=False),
        sa.Column("phone_number", sa.String(length=20), nullable=False),
        sa.Column("activation_code", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_sandbox_sessions_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["whatsapp_config_id"],
            ["whatsapp_configs.id"],
            name=op.f("fk_sandbox_sessions_whatsapp_config_id_whatsapp_configs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_sessions")),
        sa.UniqueConstraint("activation_code", name=op.f("uq_sandbox_sessions_activation_code")),
    )
    with op.batch_alter_table("sandbox_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_sessions_phone_number"), ["phone_number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sandbox_sessions_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "whatsapp_contact_notes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["whatsapp_contacts.id"],
            name=op.f("fk_whatsapp_contact_notes_contact_id_whatsapp_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_whatsapp_contact_notes_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_contact_notes")),
    )
    with op.batch_alter_table("whatsapp_contact_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_whatsapp_contact_notes_contact_id"), ["contact_id"], unique=False
        )

    op.create_table(
        "whatsapp_conversations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("phone_number", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["whatsapp_contacts.id"],
            name=op.f("fk_whatsapp_conversations_contact_id_whatsapp_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_whatsapp_conversations_project_id_projects"),
        ),
        sa.ForeignKeyConstraint(
            ["whatsapp_config_id"],
            ["whatsapp_configs.id"],
            name=op.f("fk_whatsapp_conversations_whatsapp_config_id_whatsapp_configs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_conversations")),
    )
    with op.batch_alter_table("whatsapp_conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_whatsapp_conversations_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            "ix_whatsapp_conversations_project_id_last_active_at",
            ["project_id", "last_active_at"],
            unique=False,
        )
        batch_op.create_index(
            "uq_whatsapp_conversations_one_active",
            ["whatsapp_config_id", "contact_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "whatsapp_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("execution_id", sa.Uuid(), nullable=True),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=True),
        sa.Column("node_id", sa.String(length=200), nullable=True),
        sa.Column("phone_number", sa.String(length=20), nullable=False),
        sa.Column("message_type", sa.String(length=20), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("processing_status", sa.String(length=10), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("wamid", sa.String(length=200), nullable=True),
        sa.Column(
            "last_error",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("meta_timestamp", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["whatsapp_conversations.id"],
            name=op.f("fk_whatsapp_messages_conversation_id_whatsapp_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["flow_executions.id"],
            name=op.f("fk_whatsapp_messages_execution_id_flow_executions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_whatsapp_messages_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_messages")),
        sa.UniqueConstraint(
            "whatsapp_config_id",
            "wamid",
            name=op.f("uq_whatsapp_messages_whatsapp_config_id_wamid"),
        ),
    )
    with op.batch_alter_table("whatsapp_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_whatsapp_messages_conversation_id_id", ["conversation_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_whatsapp_messages_execution_id"), ["execution_id"], unique=False
        )
        batch_op.create_index("ix_whatsapp_messages_wamid", ["wamid"], unique=False)

    _copy_outbox_into_messages()
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_messages_execution_id"))

    op.drop_table("outbound_messages")
    with op.batch_alter_table("flow_executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conversation_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "ix_flow_executions_conversation_id_status", ["conversation_id", "status"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_flow_executions_conversation_id_whatsapp_conversations"),
            "whatsapp_conversations",
            ["conversation_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("flow_triggers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "keywords",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("pattern", sa.String(length=500), nullable=True))

    with op.batch_alter_table("whatsapp_configs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("webhook_verify_token_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("app_secret_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "inbound_processing_enabled", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )
        batch_op.add_column(
            sa.Column("is_coexistence", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("calls_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("webhook_verified_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_whatsapp_configs_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "uq_whatsapp_configs_production_phone_number_id",
            ["phone_number_id"],
            unique=True,
            sqlite_where=sa.text("kind = 'production'"),
            postgresql_where=sa.text("kind = 'production'"),
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_whatsapp_configs_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("whatsapp_configs", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_whatsapp_configs_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_index(
            "uq_whatsapp_configs_production_phone_number_id",
            sqlite_where=sa.text("kind = 'production'"),
            postgresql_where=sa.text("kind = 'production'"),
        )
        batch_op.drop_index(batch_op.f("ix_whatsapp_configs_customer_id"))
        batch_op.drop_column("webhook_verified_at")
        batch_op.drop_column("calls_enabled")
        batch_op.drop_column("is_coexistence")
        batch_op.drop_column("inbound_processing_enabled")
        batch_op.drop_column("app_secret_encrypted")
        batch_op.drop_column("webhook_verify_token_encrypted")
        batch_op.drop_column("customer_id")

    with op.batch_alter_table("flow_triggers", schema=None) as batch_op:
        batch_op.drop_column("pattern")
        batch_op.drop_column("keywords")

    with op.batch_alter_table("flow_executions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_flow_executions_conversation_id_whatsapp_conversations"),
            type_="foreignkey",
        )
        batch_op.drop_index("ix_flow_executions_conversation_id_status")
        batch_op.drop_column("conversation_id")

    _recreate_outbox()
    with op.batch_alter_table("whatsapp_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_whatsapp_messages_wamid")
        batch_op.drop_index(batch_op.f("ix_whatsapp_messages_execution_id"))
        batch_op.drop_index("ix_whatsapp_messages_conversation_id_id")

    op.drop_table("whatsapp_messages")
    with op.batch_alter_table("whatsapp_conversations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_whatsapp_conversations_one_active",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index("ix_whatsapp_conversations_project_id_last_active_at")
        batch_op.drop_index(batch_op.f("ix_whatsapp_conversations_contact_id"))

    op.drop_table("whatsapp_conversations")
    with op.batch_alter_table("whatsapp_contact_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_whatsapp_contact_notes_contact_id"))

    op.drop_table("whatsapp_contact_notes")
    with op.batch_alter_table("sandbox_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_sessions_project_id"))
        batch_op.drop_index(batch_op.f("ix_sandbox_sessions_phone_number"))

    op.drop_table("sandbox_sessions")
    op.drop_table("whatsapp_contacts")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_project_id"))

    op.drop_table("customers")
    with op.batch_alter_table("message_status_events", schema=None) as batch_op:
        batch_op.drop_index("ix_message_status_events_wamid")

    op.drop_table("message_status_events")
    op.drop_table("inbound_webhooks")


_COMMON = (
    "id, project_id, execution_id, whatsapp_config_id, payload, status, attempts, wamid, "
    "last_error, created_at, attempted_at, sent_at"
)


def _copy_outbox_into_messages() -> None:
    """The outbox rows become the outbound messages of the one message store."""
    op.execute(
        f"INSERT INTO whatsapp_messages ({_COMMON}, direction, node_id, phone_number, "
        "message_type, content) "
        f"SELECT {_COMMON}, 'outbound', node_id, to_phone, 'text', NULL FROM outbound_messages"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('whatsapp_messages', 'id'), "
            "COALESCE((SELECT max(id) FROM whatsapp_messages), 0) + 1, false)"
        )


def _recreate_outbox() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.create_table(
        "outbound_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("execution_id", sa.Uuid(), nullable=False),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=True),
        sa.Column("node_id", sa.String(length=200), nullable=False),
        sa.Column("to_phone", sa.String(length=20), nullable=False),
        sa.Column("payload", json, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("wamid", sa.String(length=200), nullable=True),
        sa.Column("last_error", json, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["flow_executions.id"],
            name=op.f("fk_outbound_messages_execution_id_flow_executions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_outbound_messages_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_messages")),
    )
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbound_messages_execution_id"), ["execution_id"], unique=False
        )
    op.execute(
        f"INSERT INTO outbound_messages ({_COMMON}, node_id, to_phone) "
        f"SELECT {_COMMON}, COALESCE(node_id, ''), phone_number FROM whatsapp_messages "
        "WHERE direction = 'outbound' AND execution_id IS NOT NULL"
    )
