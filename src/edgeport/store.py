"""Embedded SQLite history of runs: every profile/verify/bench/study result is kept.

Default location ``.edgeport/edgeport.db`` under the working directory; override with the
``EDGEPORT_STORE`` environment variable or the ``path`` argument.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeport.errors import ConfigError
from edgeport.report.schema import envelope

__all__ = ["RunRecord", "Store", "default_store_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    created REAL NOT NULL,
    passed INTEGER,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS candidates (
    study TEXT NOT NULL,
    key TEXT NOT NULL,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (study, key)
);
"""


def default_store_path() -> Path:
    env = os.environ.get("EDGEPORT_STORE")
    return Path(env) if env else Path.cwd() / ".edgeport" / "edgeport.db"


@dataclass(frozen=True)
class RunRecord:
    id: int
    kind: str
    subject: str
    created: float
    passed: bool | None
    document: dict[str, Any]


class Store:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.executescript(_SCHEMA)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise ConfigError(f"cannot open the result store {self.path}: {exc}",
                              fix="pass --store PATH (or set EDGEPORT_STORE) to a writable SQLite file") from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:
                yield db
        finally:
            db.close()

    def save(self, kind: str, subject: str, result: Any, *, passed: bool | None = None) -> int:
        doc = envelope(kind, result)
        with self._connect() as db:
            cur = db.execute("INSERT INTO runs (kind, subject, created, passed, document) VALUES (?, ?, ?, ?, ?)",
                             (kind, subject, time.time(), None if passed is None else int(passed), json.dumps(doc)))
            return int(cur.lastrowid or 0)

    def runs(self, kind: str | None = None, limit: int = 50) -> list[RunRecord]:
        query = "SELECT id, kind, subject, created, passed, document FROM runs"
        args: tuple[Any, ...] = ()
        if kind:
            query += " WHERE kind = ?"
            args = (kind,)
        query += " ORDER BY id DESC LIMIT ?"
        with self._connect() as db:
            rows = db.execute(query, (*args, limit)).fetchall()
        return [self._record(r) for r in rows]

    def get(self, run_id: int) -> RunRecord:
        with self._connect() as db:
            row = db.execute("SELECT id, kind, subject, created, passed, document FROM runs WHERE id = ?",
                             (run_id,)).fetchone()
        if row is None:
            raise ConfigError(f"no run {run_id} in {self.path}", fix="list runs with 'edgeport history'")
        return self._record(row)

    @staticmethod
    def _record(row: tuple[Any, ...]) -> RunRecord:
        return RunRecord(id=row[0], kind=row[1], subject=row[2], created=row[3],
                         passed=None if row[4] is None else bool(row[4]), document=json.loads(row[5]))

    # ---- study candidates (resume support) ----------------------------------------------------
    def save_candidate(self, study: str, key: str, status: str, document: dict[str, Any]) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO candidates (study, key, created, status, document) "
                       "VALUES (?, ?, ?, ?, ?)", (study, key, time.time(), status, json.dumps(document)))

    def candidates(self, study: str) -> dict[str, tuple[str, dict[str, Any]]]:
        with self._connect() as db:
            rows = db.execute("SELECT key, status, document FROM candidates WHERE study = ? ORDER BY created",
                              (study,)).fetchall()
        return {k: (s, json.loads(d)) for k, s, d in rows}
