"""Set-based seeding of a PostgreSQL database at scale, for ``bench/explain.py``.

Ten projects (one number and one flow each); 100,000 contacts, each with an active
conversation and a waiting execution (8 events, its timer job, a sent reply and the
inbound message it answers); 20,000 earlier executions that ended 40 days ago in the
same conversations (10 events and two messages each): 1,000,000 events. Around them,
what a running system holds: due jobs, deliveries queued, inbound messages pending,
failed jobs, processed webhook deliveries and statuses. Ids are ``md5(kind || n)``, so
a query can name the n-th row of any table.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

WAITING = 100_000
ENDED = 20_000
PROJECTS = 10


def uid(kind: str, n: int | str) -> str:
    """The SQL of the seeded id of the ``n``-th row of ``kind``."""
    return f"md5('{kind}' || ({n})::text)::uuid"


_NOW = "now()"
_PROJECT = f"{uid('project', 'n % 10')}"


def _executions(kind: str, n: str, count: int, *, status: str, ended: str) -> str:
    waiting = kind == "waiting"
    reason = "'user_input'" if waiting else "NULL"
    until = "now() + interval '1 hour'" if waiting else "NULL"
    started = "now() - interval '1 hour'" if waiting else "now() - interval '41 days'"
    return (
        "INSERT INTO flow_executions (id, project_id, flow_id, flow_version_id, "
        "whatsapp_config_id, conversation_id, tracking_id, phone_number, status, "
        "current_node_id, step_seq, wait_reason, wait_until, variables, context, system, "
        "started_at, ended_at, last_event_at) "
        f"SELECT {uid(kind, n)}, {_PROJECT}, {uid('flow', 'n % 10')}, {uid('version', 'n % 10')}, "
        f"{uid('config', 'n % 10')}, {uid('conversation', n)}, {uid('tracking' + kind, n)}, "
        f"'+' || (15550000000 + n), {status}, 'wait', 3, {reason}, {until}, "
        "'{\"answer\": null}', '{}', '{}', "
        f"{started}, {ended}, {ended if not waiting else 'now()'} "
        f"FROM generate_series(1, {count}) n"
    )


_KINDS = (
    "ARRAY['step_entered','step_left','step_entered','message_queued','step_left',"
    "'step_entered','message_sent','resumed','step_left','execution_ended']"
)


def _events(kind: str, count: int, per: int) -> str:
    # Interleaved (event k of every run, then k + 1), as runs progressing together write them.
    return (
        "INSERT INTO execution_events (project_id, execution_id, kind, node_id, at, "
        f"duration_ms, data) SELECT {_PROJECT}, {uid(kind, 'n')}, ({_KINDS})[k], 'node' || k, "
        "now() - interval '1 hour', NULL, '{\"step_type\": \"send_text\"}' "
        f"FROM generate_series(1, {per}) k CROSS JOIN generate_series(1, {count}) n "
        "ORDER BY k, n"
    )


def _messages(kind: str, count: int, direction: str, status: str, processing: str, tag: str) -> str:
    wamid = "NULL" if status == "'queued'" else f"'wamid.{tag}.' || n"
    return (
        "INSERT INTO whatsapp_messages (project_id, direction, execution_id, conversation_id, "
        "whatsapp_config_id, node_id, phone_number, message_type, content, payload, status, "
        "processing_status, attempts, wamid, meta_timestamp, created_at, updated_at) "
        f"SELECT {_PROJECT}, {direction}, {uid(kind, 'n')}, {uid('conversation', 'n')}, "
        f"{uid('config', 'n % 10')}, 'ask', '+' || (15550000000 + n), 'text', 'hello', "
        '\'{"text": {"body": "hello"}}\', '
        f"{status}, {processing}, 1, {wamid}, now(), now(), now() "
        f"FROM generate_series(1, {count}) n"
    )


def _jobs(task: str, count: int, run_at: str, status: str, *, dedupe: str, lock: str) -> str:
    attempts = "10" if status == "'failed'" else "0"
    return (
        "INSERT INTO jobs (project_id, task, payload, status, run_at, attempts, max_attempts, "
        "dedupe_key, lock_key, created_at) "
        f"SELECT {_PROJECT}, {task}, jsonb_build_object('execution_id', "
        f"{uid('waiting', 'n')}::text, 'seq', 3), {status}, {run_at}, {attempts}, 10, "
        f"{dedupe}, {lock}, now() FROM generate_series(1, {count}) n"
    )


STATEMENTS = [
    # Tenants, their numbers and flows.
    f"INSERT INTO projects (id, name, created_at, updated_at) SELECT {uid('project', 'n')}, "
    f"'p' || n, {_NOW}, {_NOW} FROM generate_series(0, {PROJECTS - 1}) n",
    f"INSERT INTO whatsapp_configs (id, project_id, name, kind, phone_number_id, "
    "display_phone_number, waba_id, base_url, api_version, access_token_encrypted, is_default, "
    "inbound_processing_enabled, is_coexistence, calls_enabled, created_at, updated_at) "
    f"SELECT {uid('config', 'n')}, {uid('project', 'n')}, 'c', 'production', '10' || n, "
    f"'+1555' || n, 'w' || n, '', 'v23.0', 'x', true, true, false, false, {_NOW}, {_NOW} "
    f"FROM generate_series(0, {PROJECTS - 1}) n",
    f"INSERT INTO flows (id, project_id, name, status, current_version_id, execution_count, "
    f"created_at, updated_at) SELECT {uid('flow', 'n')}, {uid('project', 'n')}, 'f', 'active', "
    f"{uid('version', 'n')}, 0, {_NOW}, {_NOW} FROM generate_series(0, {PROJECTS - 1}) n",
    f"INSERT INTO flow_versions (id, project_id, flow_id, number, definition, created_at) "
    f"SELECT {uid('version', 'n')}, {uid('project', 'n')}, {uid('flow', 'n')}, 1, '{{}}', "
    f"{_NOW} FROM generate_series(0, {PROJECTS - 1}) n",
    # Contacts and their conversations.
    f"INSERT INTO whatsapp_contacts (id, project_id, wa_id, profile_name, metadata, created_at, "
    f"updated_at) SELECT {uid('contact', 'n')}, {_PROJECT}, (15550000000 + n)::text, 'u', '{{}}',"
    f" {_NOW}, {_NOW} FROM generate_series(1, {WAITING}) n",
    f"INSERT INTO whatsapp_conversations (id, project_id, whatsapp_config_id, contact_id, "
    f"phone_number, status, last_active_at, last_inbound_at, created_at, updated_at) "
    f"SELECT {uid('conversation', 'n')}, {_PROJECT}, {uid('config', 'n % 10')}, "
    f"{uid('contact', 'n')}, '+' || (15550000000 + n), 'active', {_NOW}, {_NOW}, {_NOW}, {_NOW}"
    f" FROM generate_series(1, {WAITING}) n",
    # Executions: one waiting per conversation, and earlier ones that ended long ago.
    _executions("waiting", "n", WAITING, status="'waiting'", ended="NULL"),
    _executions("ended", "n", ENDED, status="'ended'", ended="now() - interval '40 days'"),
    _events("waiting", WAITING, 8),
    _events("ended", ENDED, 10),
    # Messages: each waiting run's inbound and reply; each ended run's two.
    _messages("waiting", WAITING, "'inbound'", "'received'", "'processed'", "in"),
    _messages("waiting", WAITING, "'outbound'", "'sent'", "NULL", "out"),
    _messages("ended", ENDED, "'inbound'", "'received'", "'processed'", "ein"),
    _messages("ended", ENDED, "'outbound'", "'sent'", "NULL", "eout"),
    # Live work: 200 replies queued for delivery, 50 inbound messages pending.
    _messages("waiting", 200, "'outbound'", "'queued'", "NULL", "q"),
    _messages("waiting", 50, "'inbound'", "'received'", "'pending'", "p"),
    # Jobs: every waiting run's timer (an hour away), due work, and old failures.
    _jobs(
        "'executions.timeout'",
        WAITING,
        "now() + interval '1 hour'",
        "'queued'",
        dedupe="'timeout:' || " + uid("waiting", "n") + "::text",
        lock="NULL",
    ),
    _jobs(
        "'executions.advance'",
        500,
        "now() - interval '1 second'",
        "'queued'",
        dedupe="NULL",
        lock="NULL",
    ),
    _jobs(
        "'messaging.deliver'",
        200,
        "now() - interval '1 second'",
        "'queued'",
        dedupe="'outbox:conversation:' || " + uid("conversation", "n") + "::text",
        lock="'outbox:conversation:' || " + uid("conversation", "n") + "::text",
    ),
    _jobs(
        "'inbound.inbox'",
        50,
        "now() - interval '1 second'",
        "'queued'",
        dedupe="'inbox:' || " + uid("conversation", "n") + "::text",
        lock="'inbox:' || " + uid("conversation", "n") + "::text",
    ),
    _jobs(
        "'executions.call'",
        2_000,
        "now() - interval '40 days'",
        "'failed'",
        dedupe="NULL",
        lock="NULL",
    ),
    # Raw deliveries and statuses, spread over the last 60 days.
    f"INSERT INTO inbound_webhooks (project_id, whatsapp_config_id, body, status, item_count, "
    f"received_at, processed_at) SELECT {_PROJECT}, {uid('config', 'n % 10')}, "
    "repeat('x', 600), 'processed', 1, now() - (n % 60) * interval '1 day', now() "
    f"FROM generate_series(1, {WAITING}) n",
    f"INSERT INTO message_status_events (project_id, whatsapp_config_id, wamid, status, payload, "
    f"received_at, applied_at) SELECT {_PROJECT}, {uid('config', 'n % 10')}, 'wamid.out.' || n, "
    "'delivered', '{}', now() - (n % 60) * interval '1 day', now() "
    f"FROM generate_series(1, {WAITING}) n",
]


async def seed(conn: AsyncConnection) -> None:
    """Run every statement, then ANALYZE (as autovacuum would soon after such growth)."""
    for statement in STATEMENTS:
        await conn.execute(text(statement))
    await conn.execute(text("ANALYZE"))
