"""The log's background work in a server: integrate committed entries into the tree
every `integrate_every` seconds, and sign a checkpoint every `sign_every` seconds when
the tree has grown. One daemon thread; a failure is logged and retried on the next tick
(the ledger's writes never depend on it)."""

from __future__ import annotations

import logging
import threading
import time

from .log import LogService

log = logging.getLogger(__name__)

INTEGRATE_EVERY_SECONDS = 1.0
SIGN_EVERY_SECONDS = 60.0


class LogWorker:
    def __init__(self, service: LogService, integrate_every: float = INTEGRATE_EVERY_SECONDS,
                 sign_every: float = SIGN_EVERY_SECONDS) -> None:
        self.service = service
        self.integrate_every = integrate_every
        self.sign_every = sign_every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="dangol-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops after a last integration and signature, so that a clean shutdown leaves
        every write it served in a signed checkpoint."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        last_signed = float("-inf")
        while True:
            stopping = self._stop.wait(self.integrate_every)
            now = time.monotonic()
            sign = stopping or now - last_signed >= self.sign_every
            try:
                self.service.integrate()
                if sign:
                    self.service.sign()
                    last_signed = now
            except Exception:  # the thread must outlive a bad moment; the next tick retries
                log.exception("transparency log: integrating or signing failed")
            if stopping:
                return
