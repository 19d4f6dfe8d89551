"""Warm the forecast cache in the background, so that pages do not wait for a model fit.

What is warmed: the H3 forecasts that pages ask for first, for a view of every
incident (``haven.accounts.SYSTEM``, which ``haven.policy.sees_everything``):

- real incidents, the month after today (a facility page, ``haven.facility_risk``);
- real incidents, the month after the last recorded attack (the map's
  "Forecast: next month" overlay, ``GET /api/forecast/units`` without a month);
- exercise incidents, the month after today (an exercise facility's page).

When: once when ``haven serve`` starts, then whenever ``haven.forecast.data_version``
(counts and latest updates of incidents and facilities) or the current month
changes; it is polled every ``forecast_warmup_interval_seconds``. The forecast
cache is keyed on a digest of the incidents a caller may see
(``haven.forecast_service.input_digest``), so a warmed answer is served to every
caller who sees exactly those incidents and to nobody else: an organisation or
a country focal point that sees fewer incidents still gets its own fit, made
from its own view, on its first request.

Why a thread and not an asyncio task: the fit is CPU-bound numpy and
scikit-learn work that cannot be cancelled midway. One daemon thread keeps it
off the event loop and off the pool that runs request handlers; a
``threading.Event`` both paces the polling and wakes the thread at once on
shutdown. The thread only reads (``Database.read``), never queues a write, so
it never holds the single writer. A request that arrives while the warm-up is
fitting the same answer waits for that fit instead of starting its own. A
failure is logged and retried at the next poll; it never reaches a request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable
from datetime import UTC, date, datetime

from haven.accounts import SYSTEM
from haven.db import Database
from haven.errors import HavenError
from haven.forecast import UnitKind, data_version, month_at
from haven.forecast_service import forecast_units
from haven.settings import Settings

__all__ = ["STOP_TIMEOUT_SECONDS", "ForecastWarmup", "start", "targets"]

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 10.0
"""How long shutdown waits for a fit in progress before leaving the (daemon) thread behind."""


def targets(today: date) -> list[tuple[bool, date | None]]:
    """The (exercise, month) pairs to warm on ``today``; month ``None`` is the overlay's default."""
    next_month = month_at(date(today.year, today.month, 1), 1)
    return [(False, next_month), (False, None), (True, next_month)]


class ForecastWarmup:
    """A daemon thread that keeps the forecasts pages ask for first in the forecast cache."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._settings = settings
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._warmed: Hashable | None = None
        self._rounds = 0
        self._polls = 0
        self._thread = threading.Thread(target=self._run, name="haven-forecast-warmup", daemon=True)

    @property
    def rounds(self) -> int:
        """Warm-up rounds completed (one a change of incidents or month)."""
        with self._changed:
            return self._rounds

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread.is_alive()

    def start(self) -> None:
        """Start the thread: it warms at once, then after every change."""
        self._thread.start()

    def stop(self, *, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
        """Ask the thread to stop and wait for it; whether it ended within ``timeout`` seconds.

        A fit in progress runs to its end (it cannot be interrupted); the rest of
        the round is skipped.
        """
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("forecast warm-up still fitting after %.0f s; left behind", timeout)
            return False
        return True

    def wait_until_current(self, *, timeout: float) -> bool:
        """Wait until a round has finished for the data as it is now; whether it did in time."""
        wanted = self._state()
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._warmed != wanted:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return False
                self._changed.wait(left)
        return True

    def wait_for_polls(self, count: int, *, timeout: float) -> bool:
        """Wait until the thread has checked for changes ``count`` more times; whether it did."""
        deadline = time.monotonic() + timeout
        with self._changed:
            wanted = self._polls + count
            while self._polls < wanted:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return False
                self._changed.wait(left)
        return True

    def _state(self) -> Hashable:
        """What a round depends on: the data version and today's date (for the months)."""
        with self._database.read() as session:
            version = data_version(session)
        return (version, datetime.now(UTC).date().replace(day=1))

    def _run(self) -> None:
        interval = self._settings.forecast_warmup_interval_seconds
        while not self._stop.is_set():
            try:
                state = self._state()
                if state != self._warmed and self._warm():
                    with self._changed:
                        self._warmed = state
                        self._rounds += 1
                        self._changed.notify_all()
            except Exception:  # never let a failure end the thread or reach the server
                log.exception("forecast warm-up failed; retrying in %.0f s", interval)
            with self._changed:
                self._polls += 1
                self._changed.notify_all()
            self._stop.wait(interval)

    def _warm(self) -> bool:
        """Compute every target once; whether the round ran to its end (not stopped)."""
        started = time.monotonic()
        for exercise, month in targets(datetime.now(UTC).date()):
            if self._stop.is_set():
                return False
            try:
                with self._database.read() as session:
                    forecast_units(
                        session,
                        self._settings,
                        actor=SYSTEM,
                        kind=UnitKind.H3,
                        month=month,
                        exercise=exercise,
                    )
            except HavenError as exc:  # e.g. no history before that month: nothing to warm
                what = f"{'exercise' if exercise else 'real'} data, {month or 'overlay month'}"
                log.info("forecast warm-up skipped %s: %s", what, exc)
        log.info("forecast warm-up done in %.1f s", time.monotonic() - started)
        return True


def start(database: Database, settings: Settings) -> ForecastWarmup | None:
    """Start warming when the ``forecast_warmup`` setting is on (``None`` when it is off)."""
    if not settings.forecast_warmup:
        return None
    warmup = ForecastWarmup(database, settings)
    warmup.start()
    return warmup
