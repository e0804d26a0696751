"""PostgreSQL NOTIFY on outbox writes: a statement-level trigger wakes the relay at commit.

The trigger costs no round trip (it runs inside the INSERT), and PostgreSQL folds identical
notifications of one transaction into one: a transaction that wrote events sends one NOTIFY,
a rolled-back one sends none. Installed and removed after ``migrate`` per FEED_OUTBOX_NOTIFY.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, router

from feed_outbox import conf
from feed_outbox.models import OutboxEvent

FUNCTION = "feed_outbox_notify"
TRIGGER = "feed_outbox_notify"

# The channel is the trigger's argument, so changing the setting needs no new function.
CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_ARGV[0], '');
    RETURN NULL;
END
$$
"""


def _table(connection: Any) -> str:
    return connection.ops.quote_name(OutboxEvent._meta.db_table)


def install(using: str = "default", channel: str | None = None) -> bool:
    """Create (or replace) the trigger on ``using``; False where there is nothing to do."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    channel = channel or conf.get("FEED_OUTBOX_NOTIFY_CHANNEL")
    literal = "'" + str(channel).replace("'", "''") + "'"
    with connection.cursor() as cursor:
        cursor.execute(CREATE_FUNCTION)
        cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {_table(connection)}")
        cursor.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON {_table(connection)} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}({literal})"
        )
    return True


def uninstall(using: str = "default") -> bool:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {_table(connection)}")
        cursor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
    return True


def sync_trigger(using: str = "default") -> bool | None:
    """Install or remove the trigger on ``using`` as FEED_OUTBOX_NOTIFY says (idempotent)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    if not router.allow_migrate_model(using, OutboxEvent):
        return None
    if OutboxEvent._meta.db_table not in connection.introspection.table_names():
        return None
    if conf.get("FEED_OUTBOX_NOTIFY"):
        return install(using)
    uninstall(using)
    return False


def on_post_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    if getattr(sender, "label", None) == OutboxEvent._meta.app_label:
        sync_trigger(using)
