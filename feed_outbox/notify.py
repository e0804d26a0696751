"""The old name of feed_outbox.notify_trigger (the PostgreSQL NOTIFY trigger), kept for imports.

Renamed so it is not mistaken for feed_outbox.notifications (notification feeds).
"""

from feed_outbox.notify_trigger import (  # noqa: F401
    CREATE_FUNCTION,
    FUNCTION,
    TRIGGER,
    install,
    on_post_migrate,
    sync_trigger,
    uninstall,
)
