"""A daemon thread that a server runs beside its requests (the WAL checkpointer, the
transparency log's worker): started once, stopped once, and on a clean stop given the
chance of a last round of work (each subclass's `_run` watches `_stop` and decides)."""

from __future__ import annotations

import threading


class BackgroundThread:
    name = "dangol-background"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Asks the thread to stop and waits for its last round to finish."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        raise NotImplementedError
