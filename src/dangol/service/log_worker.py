"""The log's background work in a server: integrate committed entries into the tree
every `integrate_every` seconds, and sign a checkpoint every `sign_every` seconds when
the tree has grown. One daemon thread; a failure is logged and retried on the next tick
(the ledger's writes never depend on it)."""

from __future__ import annotations

import logging
import time

from ..storage.background import BackgroundThread
from .log import LogService

log = logging.getLogger(__name__)

INTEGRATE_EVERY_SECONDS = 1.0
SIGN_EVERY_SECONDS = 60.0


class LogWorker(BackgroundThread):
    """Stopped, it integrates and signs a last time, so that a clean shutdown leaves every
    write it served in a signed checkpoint."""

    name = "dangol-log"

    def __init__(self, service: LogService, integrate_every: float = INTEGRATE_EVERY_SECONDS,
                 sign_every: float = SIGN_EVERY_SECONDS) -> None:
        super().__init__()
        self.service = service
        self.integrate_every = integrate_every
        self.sign_every = sign_every

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
