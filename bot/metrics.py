"""Prometheus metrics of one running bot, in a registry of its own (never the global one).

The counters and the latency histogram are updated where things happen (the webhook server).
What lives in the database — cases by state, outbox rows by status — is read when Prometheus
scrapes: `refresh()` reads it (async), then the registry's collector reports that snapshot
together with the outbox dispatcher's own counts and whether it runs. Every label comes from a
small fixed set (update types, states, statuses, outcomes): never ids or text. This module knows
neither Telegram nor the web server; it does not write anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

Reader = Callable[[], Awaitable[dict[str, int]]]
SEND_OUTCOMES = ("sent", "retry", "failed")
READ_TIMEOUT = 5.0  # seconds a scrape waits for the database


class Sender(Protocol):
    """What the metrics read from the outbox dispatcher (`handlers.delivery.Dispatcher`)."""

    @property
    def alive(self) -> bool: ...

    @property
    def attempts(self) -> Mapping[str, int]: ...


@dataclass
class Snapshot:
    """The database's part of a scrape; empty when it could not be read."""

    database_up: bool = False
    cases: dict[str, int] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)


class Metrics:
    """The bot's metrics: `updates`, `rejected`, `handling`, plus what is read at scrape time."""

    def __init__(
        self, *, cases: Reader, outbox: Reader, sender: Callable[[], Sender | None]
    ) -> None:
        self._read_cases, self._read_outbox = cases, outbox
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "petition_updates_received",
            "Updates received from Telegram, by type.",
            ["type"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "petition_webhook_rejected",
            "Webhook requests refused: wrong or missing secret token, or not an update.",
            ["reason"],
            registry=self.registry,
        )
        self.handling = Histogram(
            "petition_update_handling_seconds",
            "Time the handlers took for one update, by type.",
            ["type"],
            registry=self.registry,
        )
        self.snapshot = Snapshot()
        self.registry.register(_Live(self, sender))

    async def refresh(self) -> None:
        """Read the database's numbers for the next scrape (marked down if it does not answer)."""
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                cases = await self._read_cases()
                outbox = await self._read_outbox()
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            self.snapshot = Snapshot()
            return
        self.snapshot = Snapshot(True, cases, outbox)


class _Live:
    """The collector for what is not counted as it happens."""

    def __init__(self, metrics: Metrics, sender: Callable[[], Sender | None]) -> None:
        self._metrics, self._sender = metrics, sender

    def collect(self) -> Iterable[Metric]:
        snapshot = self._metrics.snapshot
        yield GaugeMetricFamily(
            "petition_database_up",
            "1 when the database answered at this scrape.",
            value=int(snapshot.database_up),
        )
        if snapshot.database_up:
            cases = GaugeMetricFamily(
                "petition_cases", "Cases by lifecycle state.", labels=["state"]
            )
            for state, count in sorted(snapshot.cases.items()):
                cases.add_metric([state], count)
            yield cases
            rows = GaugeMetricFamily(
                "petition_outbox_rows", "Outbox rows by delivery status.", labels=["status"]
            )
            for status, count in sorted(snapshot.outbox.items()):
                rows.add_metric([status], count)
            yield rows
        sender = self._sender()
        yield GaugeMetricFamily(
            "petition_outbox_dispatcher_up",
            "1 when the outbox dispatcher is running.",
            value=int(sender is not None and sender.alive),
        )
        attempts: Mapping[str, int] = sender.attempts if sender is not None else {}
        sends = CounterMetricFamily(
            "petition_outbox_sends",
            "Bot API calls made by the outbox dispatcher (one per attempt), by outcome.",
            labels=["outcome"],
        )
        for outcome in SEND_OUTCOMES:
            sends.add_metric([outcome], attempts.get(outcome, 0))
        yield sends
        yield CounterMetricFamily(
            "petition_telegram_429",
            "Flood-control answers (429 Too Many Requests) the outbox dispatcher received.",
            value=attempts.get("flood_wait", 0),
        )
