"""What the ``outbox_*`` management commands do: reconcile, repair, replay, backfill, shadow reads,
adoption of stream-django data, retention, status; and the state they compare (expected, current
and follow state). Internal: the commands are the interface (``python manage.py outbox_*``).
"""
