from __future__ import annotations

import errno
import socket
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


class Command(BaseCommand):
    help = "Serve the SalesRadar web app (waitress, static files included)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument(
            "--no-migrate",
            dest="migrate",
            action="store_false",
            help="do not apply pending migrations first",
        )
        parser.add_argument(
            "--no-scheduler",
            dest="scheduler",
            action="store_false",
            help="do not run rule evaluation and notifications in this process "
            "(when Celery workers do it)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        if not port_is_free(host, port):
            raise CommandError(
                f"Port {port} on {host} is already in use. Stop the other program or choose "
                f"another port with --port."
            )
        if options["migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        from waitress import serve

        from salesradar.config.wsgi import application

        self.stdout.write(f"SalesRadar is serving on http://{host}:{port}/ (Ctrl+C stops it)")
        scheduler = None
        if options["scheduler"]:
            from salesradar.config.jobs import default_scheduler

            scheduler = default_scheduler()
            scheduler.start()
        try:
            serve(application, host=host, port=port, threads=options["threads"], ident="salesradar")
        finally:
            if scheduler is not None:
                scheduler.stop()
