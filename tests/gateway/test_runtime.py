"""On SQLite, DUIS writers queue for the write lock across worker processes, not only threads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from meterhub.config import Settings
from meterhub.gateway.runtime import GatewayRuntime


def _runtime(url: str) -> GatewayRuntime:
    return GatewayRuntime.from_settings(Settings(database_url=url))


def test_two_processes_worth_of_writers_take_turns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    # Two runtimes open the lock file separately, as two worker processes do.
    first, second = _runtime(url), _runtime(url)
    assert first.lock_path == tmp_path / "hub.db.write-lock"
    order: list[str] = []

    def other_process() -> None:
        with second.writing():
            order.append("second in")

    with first.writing():
        waiter = threading.Thread(target=other_process)
        waiter.start()
        time.sleep(0.3)  # long enough for the waiter to have entered, were it not kept out
        order.append("first out")
    waiter.join(timeout=10)
    assert order == ["first out", "second in"]


def test_no_lock_file_for_memory_or_postgresql() -> None:
    assert _runtime("sqlite://").lock_path is None
    assert _runtime("postgresql+psycopg://u@localhost/db").lock_path is None
