"""An MES database: PostgreSQL (from the tool cache) with work orders and inspections being
written at a rate, and a ground-truth count of what was written.

`mes.work_orders` and `mes.quality_inspections` get their `updated_at` from clock_timestamp()
in single-row autocommit transactions, so the watermark grows in commit order (the property the
ingest job's incremental read relies on: docs/decisions/0031-jdbc-watermark.md). The ingest job
reads as `ingest_reader`, a login that may only SELECT in schema mes.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from types import TracebackType

import psycopg

from nidc.simulators.postgres_server import LOOPBACK, SUPERUSER, PostgresServer

DATABASE = "mes"
READER = "ingest_reader"

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS mes;
CREATE TABLE IF NOT EXISTS mes.work_orders (
    order_id     bigserial PRIMARY KEY,
    work_order   text NOT NULL,
    product_code text NOT NULL,
    line         text NOT NULL,
    quantity     integer NOT NULL,
    status       text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS work_orders_updated_at ON mes.work_orders (updated_at);
CREATE TABLE IF NOT EXISTS mes.quality_inspections (
    inspection_id bigserial PRIMARY KEY,
    order_id      bigint NOT NULL,
    characteristic text NOT NULL,
    measured      double precision NOT NULL,
    passed        boolean NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""

LINES = ("hot-rolling-1", "hot-rolling-2", "cold-rolling-1")
PRODUCTS = ("HR-COIL-2.5", "HR-COIL-4.0", "CR-SHEET-1.2")
STATUSES = ("released", "started", "completed")


class MesDatabase:
    """A PostgreSQL server holding database `mes`; `with MesDatabase() as mes: mes.insert(10)`."""

    def __init__(self) -> None:
        self.admin_password = secrets.token_urlsafe(18)
        self.reader_password = secrets.token_urlsafe(18)
        self.server = PostgresServer(password=self.admin_password)
        self._lock = threading.Lock()
        self.written = {"work_orders": 0, "quality_inspections": 0}
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        self._random = random.Random(6)  # noqa: S311 (test data, not secrets)

    @property
    def jdbc_url(self) -> str:
        """The URL the ingest job reads (no credentials in it)."""
        return f"jdbc:postgresql://{LOOPBACK}:{self.server.port}/{DATABASE}"

    def connect(self, database: str = DATABASE) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit connection as the superuser."""
        return psycopg.connect(
            host=LOOPBACK,
            port=self.server.port,
            user=SUPERUSER,
            password=self.admin_password,
            dbname=database,
            autocommit=True,
        )

    def start(self) -> None:
        """Start the server, create the database, its tables and the read-only login."""
        self.server.start()
        with self.connect("postgres") as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f"CREATE DATABASE {DATABASE}")
        with self.connect() as conn:
            conn.execute(SCHEMA_SQL)
            role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER,)).fetchone()
            if not role:
                conn.execute(
                    psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        psycopg.sql.Identifier(READER), psycopg.sql.Literal(self.reader_password)
                    )
                )
            conn.execute(f"GRANT USAGE ON SCHEMA mes TO {READER}")
            conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA mes TO {READER}")
            conn.execute(
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA mes GRANT SELECT ON TABLES TO {READER}"
            )

    def insert(self, orders: int, inspections_per_order: int = 1) -> None:
        """Write `orders` work orders (and inspections), each in its own transaction."""
        with self.connect() as conn:
            for _ in range(orders):
                number = self._random.randrange(10**6)
                order_id = conn.execute(
                    "INSERT INTO mes.work_orders (work_order, product_code, line, quantity, status)"
                    " VALUES (%s, %s, %s, %s, %s) RETURNING order_id",
                    (
                        f"WO-{number:06d}",
                        self._random.choice(PRODUCTS),
                        self._random.choice(LINES),
                        self._random.randrange(1, 500),
                        self._random.choice(STATUSES),
                    ),
                ).fetchone()
                assert order_id is not None
                with self._lock:
                    self.written["work_orders"] += 1
                for _ in range(inspections_per_order):
                    measured = self._random.gauss(2.5, 0.05)
                    conn.execute(
                        "INSERT INTO mes.quality_inspections "
                        "(order_id, characteristic, measured, passed) VALUES (%s, %s, %s, %s)",
                        (order_id[0], "thickness_mm", measured, abs(measured - 2.5) < 0.1),
                    )
                    with self._lock:
                        self.written["quality_inspections"] += 1

    def start_writing(self, orders_per_second: float) -> None:
        """Keep inserting in a background thread until stop_writing()."""
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                self.insert(1)
                self._stop.wait(1.0 / orders_per_second)

        self._writer = threading.Thread(target=loop, name="mes-writer", daemon=True)
        self._writer.start()

    def stop_writing(self) -> None:
        """Stop the background writer; `written` is final afterwards."""
        self._stop.set()
        if self._writer is not None:
            self._writer.join()
            self._writer = None

    def count(self, table: str) -> int:
        """Rows in mes.<table>, as the database itself counts them."""
        if table not in self.written:
            raise ValueError(f"unknown MES table {table!r}; known: {sorted(self.written)}")
        with self.connect() as conn:
            row = conn.execute(f"SELECT count(*) FROM mes.{table}").fetchone()  # noqa: S608
        assert row is not None
        count = row[0]
        assert isinstance(count, int)
        return count

    def stop(self) -> None:
        """Stop writing, stop the server and remove its data."""
        self.stop_writing()
        self.server.remove()

    def __enter__(self) -> MesDatabase:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    """`python -m nidc.simulators.mes_database`: run an MES database writing 5 orders/s."""
    with MesDatabase() as mes:
        print(f"MES database at {mes.jdbc_url} (user {READER}); Ctrl-C stops it", flush=True)
        mes.start_writing(5.0)
        try:
            while True:
                time.sleep(5)
                print(f"written: {mes.written}", flush=True)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
