"""The write path: what a save, a delete or a follow writes into the outbox, in its transaction.

``outbox`` writes the rows (with the writer locks of ``causality``), ``payload`` builds an
activity's payload, ``lifecycle`` decides what one save publishes, ``signals`` connects the
receivers, ``references`` names model instances, ``tracing`` keeps the trace context, and
``notify_trigger`` is the PostgreSQL trigger that wakes the relay at commit. Internal: the
public API is ``feed_outbox.publishing``, ``feed_outbox.tracking`` and the Activity mixin.
"""
