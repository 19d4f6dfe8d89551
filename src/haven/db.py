"""The database: engine factory, automatic Alembic migrations, and the one writer.

Every write goes through ``Database.write``: a single writer thread takes the
writes waiting in its queue, runs each in its own SAVEPOINT inside one
``BEGIN IMMEDIATE`` transaction and commits them together (group commit). A
write that fails rolls back alone; a caller is answered only after the commit
that holds its write is durable. Reads use ordinary pooled sessions.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from haven import custody_incidents
from haven.errors import HavenError, StorageUnavailable
from haven.privacy import Keyring, MasterKeys
from haven.settings import Settings

__all__ = ["Database", "migrate", "open_database"]

T = TypeVar("T")

TRANSACTION_CACHE = "haven_transaction_cache"
"""``session.info`` key of look-ups a write may reuse until its transaction ends; a rolled-back
savepoint drops it, since what it names may be gone."""
log = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(engine: Engine, *, synchronous: str, begin: str) -> None:
    """WAL, durable commits, foreign keys, and our own ``BEGIN`` statement."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


def create_db_engine(settings: Settings, *, writer: bool = False) -> Engine:
    """An engine for the configured database.

    On SQLite the writer's engine starts every transaction with ``BEGIN IMMEDIATE``
    (it takes the write lock up front, so it never fails half-way on a busy
    database); readers use a deferred ``BEGIN`` and never block the writer (WAL).
    """
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, pool_size=1 if writer else 8
        )
        _sqlite_pragmas(
            engine,
            synchronous=settings.sqlite_synchronous,
            begin="BEGIN IMMEDIATE" if writer else "BEGIN",
        )
        return engine
    if url.startswith(("postgresql", "postgres")):
        try:
            import psycopg  # noqa: F401, PLC0415
        except ImportError as exc:
            raise StorageUnavailable(
                "PostgreSQL needs its driver: pip install 'haven[postgres]'"
            ) from exc
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return create_engine(url, pool_size=8, max_overflow=4, pool_pre_ping=True)
    raise StorageUnavailable(
        "unsupported database URL (use sqlite:/// or postgresql://)",
        fields={"database_url": url.split(":", 1)[0]},
    )


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest migration (idempotent, safe to run on every start)."""
    cfg = _alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or ``None`` if it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest migration shipped with this version of Haven."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


@dataclass
class _Job:
    fn: Callable[[Session], Any]
    future: Future[Any]


_STOP = object()


class Database:
    """An open database: pooled read sessions and one group-committing writer thread."""

    def __init__(
        self,
        engine: Engine,
        *,
        write_engine: Engine,
        keyring: Keyring,
        batch_max: int = 256,
    ) -> None:
        self.engine = engine
        self.write_engine = write_engine
        self.keyring = keyring
        self._sessions = sessionmaker(engine, expire_on_commit=False, info={"keyring": keyring})
        self._write_sessions = sessionmaker(
            write_engine, expire_on_commit=False, info={"keyring": keyring, "writer": True}
        )
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="haven-writer", daemon=True)
        self._thread.start()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; anything written in it is rolled back."""
        session = self._sessions()
        try:
            yield session
        except OperationalError as exc:
            log.exception("database read failed")
            raise StorageUnavailable("database read failed; the server log has the cause") from exc
        finally:
            session.rollback()
            session.close()

    def submit(self, fn: Callable[[Session], T]) -> Future[T]:
        """Queue a write; the future resolves after the commit that holds it."""
        if not self._thread.is_alive():
            raise StorageUnavailable("the database is closed")
        future: Future[T] = Future()
        self._queue.put(_Job(fn, future))
        return future

    def write(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` as one durable write and return its result."""
        return self.submit(fn).result()

    async def awrite(self, fn: Callable[[Session], T]) -> T:
        """``write`` for async callers: waits without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(fn))

    def close(self) -> None:
        """Finish queued writes, stop the writer and release connections."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        self.engine.dispose()
        self.write_engine.dispose()

    def _take_batch(self) -> tuple[list[_Job], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        assert isinstance(first, _Job)
        batch = [first]
        while len(batch) < self._batch_max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            assert isinstance(item, _Job)
            batch.append(item)
        return batch, False

    def _run(self) -> None:
        stop = False
        while not stop:
            batch, stop = self._take_batch()
            if batch:
                self._commit_batch(batch)

    def _commit_batch(self, batch: list[_Job]) -> None:
        outcomes: list[tuple[_Job, bool, Any]] = []
        try:
            with self._write_sessions() as session:
                with session.begin():
                    for job in batch:
                        outcomes.append((job, *_run_in_savepoint(session, job.fn)))
                self.keyring.promote(session)
        except (SQLAlchemyError, OSError):
            log.exception("database write failed; %d write(s) refused", len(batch))
            error = StorageUnavailable("database write failed; the server log has the cause")
            for job in batch:
                job.future.set_exception(error)
            return
        for job, ok, value in outcomes:
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)


def _forget_job(session: Session) -> None:
    """Drop what a rolled-back write left in the session's caches."""
    Keyring.forget_pending(session)
    session.info.pop(TRANSACTION_CACHE, None)
    custody_incidents.forget(session)


def _run_in_savepoint(session: Session, fn: Callable[[Session], Any]) -> tuple[bool, Any]:
    """Run one write in a SAVEPOINT; on error roll back just that write."""
    savepoint = session.begin_nested()
    custody_incidents.install(session)
    try:
        value = fn(session)
        custody_incidents.settle(session)
        session.flush()
    except HavenError as exc:
        savepoint.rollback()
        _forget_job(session)
        return False, exc
    except SQLAlchemyError:
        log.exception("database write failed")
        savepoint.rollback()
        _forget_job(session)
        return False, StorageUnavailable("database write failed; the server log has the cause")
    except Exception as exc:  # noqa: BLE001 - handed to the caller's future, re-raised there
        savepoint.rollback()
        _forget_job(session)
        return False, exc
    savepoint.commit()
    return True, value


def open_database(settings: Settings, *, migrate_schema: bool = True) -> Database:
    """Open (and by default migrate) the configured database."""
    master = MasterKeys.load(settings.resolved_master_key_file, create=not settings.production)
    write_engine = create_db_engine(settings, writer=True)
    try:
        if migrate_schema:
            migrate(write_engine)
        elif current_revision(write_engine) != head_revision():
            raise StorageUnavailable("the database is not migrated: run `haven init`")
    except OperationalError as exc:
        write_engine.dispose()
        raise StorageUnavailable(f"cannot open the database: {exc.orig}") from exc
    read_engine = write_engine if not settings.is_sqlite else create_db_engine(settings)
    return Database(
        read_engine,
        write_engine=write_engine,
        keyring=Keyring(master=master),
        batch_max=settings.writer_batch_max,
    )
