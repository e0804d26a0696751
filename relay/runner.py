"""The relay: a producer that claims and sends, a completer that settles, the maintenance
jobs, and the one loop that drives them, for the sidecar (``run``) and for tests and
``--once`` (until idle).

The main thread owns the database: it claims (a short transaction), hands the batch's
requests to the pool, settles each batch as its requests finish and runs the maintenance
jobs that are due, claiming again while requests are in flight so the pool never runs dry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.db import connections

from relay.delivery import Delivery, delivery_for
from relay.exceptions import ConfigurationError
from relay.loop import Loop
from relay.maintenance import Maintenance
from relay.metrics import Metrics
from relay.options import RelayOptions
from relay.pause import Pause
from relay.producer import Producer
from relay.settle import BatchResult, DrainStats, Settler
from relay.wakeup import ListenWakeup, PollWakeup

logger = logging.getLogger("relay")


class Relay:
    def __init__(
        self,
        options: RelayOptions | None = None,
        client_factory: Callable[[], Any] | None = None,
        metrics: Metrics | None = None,
        delivery: Delivery | None = None,
    ) -> None:
        self.options = options or RelayOptions()
        self.metrics = metrics or Metrics()
        self.delivery = delivery or delivery_for(self.options.api, client_factory)
        self.pause = Pause()
        self._producer = Producer(self.options, self.delivery, self.metrics, self.pause)
        self._settler = Settler(self.options, self.metrics, self.pause)
        self._maintenance = Maintenance(self.options, self.metrics)
        self._wakeup: PollWakeup | None = None
        self._loop: Loop | None = None

    # -- state seen by /readyz ----------------------------------------------------------

    @property
    def paused_reason(self) -> str | None:
        return self.pause.reason

    @property
    def database_error(self) -> str | None:
        loop = self._loop
        return loop.database_error if loop is not None else None

    def ready(self) -> tuple[bool, str]:
        if self.database_error:
            return False, f"database unreachable: {self.database_error}"
        if self.paused_reason:
            return False, f"paused by a configuration error: {self.paused_reason}"
        return True, "ready"

    # -- running ------------------------------------------------------------------------

    def make_wakeup(self) -> PollWakeup:
        using = self.options.using
        if self.options.poll_only or connections[using].vendor != "postgresql":
            return PollWakeup()
        return ListenWakeup(self.options.notify_channel, using)

    def wake(self) -> None:
        """Interrupt the loop's sleep (a signal handler calls this after setting ``stop``)."""
        if self._wakeup is not None:
            self._wakeup.poke()

    def run(
        self, stop: threading.Event, wakeup: PollWakeup | None = None, until_idle: bool = False
    ) -> None:
        """Run until ``stop`` is set (or, ``until_idle``, nothing is left to claim), then
        finish or release what is in flight and return."""
        self._run(stop, wakeup or self.make_wakeup(), until_idle=until_idle, warm_up=True)

    def drain(self, raise_on_configuration_error: bool = True) -> DrainStats:
        """Publish until nothing is claimable (events waiting for a retry are left), on this
        thread and its connection: the production loop, until idle.

        A database error is raised at once: the caller owns the connection (a test's
        transaction), so the loop must not close it to reconnect."""
        stats = DrainStats()
        errors: list[str] = []
        self.pause.probe_now()  # a paused relay's drain probes at once, as it always has

        def settled(result: BatchResult) -> None:
            stats.add(result)
            if result.configuration_error:
                errors.append(result.configuration_error)

        self._run(
            threading.Event(),
            PollWakeup(),
            until_idle=True,
            warm_up=False,  # a test's drain starts threads only as its requests need them
            gives_up_after=0,
            on_settled=settled,
        )
        if errors and raise_on_configuration_error:
            raise ConfigurationError(errors[0])
        return stats

    def close(self) -> None:
        self._producer.close(wait=True)

    def _run(
        self,
        stop: threading.Event,
        wakeup: PollWakeup,
        until_idle: bool,
        warm_up: bool,
        **loop_options: Any,
    ) -> None:
        self._wakeup = wakeup
        self._producer.notify(wakeup.poke)
        loop = self._loop = Loop(
            self._producer,
            self._settler,
            self._maintenance,
            self.pause,
            self.metrics,
            wakeup,
            stop,
            until_idle=until_idle,
            **loop_options,
        )
        try:
            if warm_up:
                self._producer.pool().warm_up()
            loop.run()
        finally:
            try:
                loop.shutdown(self.options.grace_period)
            finally:
                wakeup.close()
                # The sidecar leaves requests past the grace period to their leases.
                self._producer.close(wait=not warm_up)
