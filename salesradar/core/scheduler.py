"""A small in-process scheduler for the embedded default: periodic jobs on one thread.

``salesradar serve`` starts it beside the web server; a Celery deployment runs the same job
functions from beat instead. Each job runs on its own interval; a failing job is logged and
runs again next time; ``stop()`` finishes the running job and returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import close_old_connections

logger = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    interval: float  # seconds
    run: Callable[[], object]
    next_run: float = 0.0
    runs: int = 0
    failures: int = 0


@dataclass
class Scheduler:
    jobs: list[Job] = field(default_factory=list)
    tick: float = 0.5
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        now = time.monotonic()
        for job in self.jobs:
            job.next_run = now
        self._thread = threading.Thread(target=self._loop, name="salesradar-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for job in self.jobs:
                if self._stop.is_set():
                    break
                if now >= job.next_run:
                    self._run(job)
                    job.next_run = time.monotonic() + job.interval
            self._stop.wait(self.tick)

    def _run(self, job: Job) -> None:
        close_old_connections()
        try:
            job.run()
            job.runs += 1
        except Exception:  # a failing job must not stop the others; it runs again next time
            job.failures += 1
            logger.exception("scheduled job %s failed", job.name)
        finally:
            close_old_connections()
