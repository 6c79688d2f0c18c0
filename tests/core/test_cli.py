"""The ``salesradar`` command as a user runs it, in a subprocess with its own data dir."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SALESRADAR_")}
    environment["SALESRADAR_DATA_DIR"] = str(data_dir)
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "salesradar.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_builds_into_the_data_dir_then_reuses_it(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "demo", "--no-serve", "--size", "small", "--seed", "5")
    assert first.returncode == 0, first.stderr
    assert "Built the demo" in first.stdout
    assert "Admin user: admin / " in first.stdout
    truth = json.loads((tmp_path / "ground_truth.json").read_text(encoding="utf-8"))
    assert {"kind", "entity_type", "entity_id", "starts_at", "description"} <= set(truth[0])
    with sqlite3.connect(tmp_path / "salesradar.sqlite3") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        customers = connection.execute("SELECT COUNT(*) FROM crm_customer").fetchone()[0]
    assert customers == 300

    second = run_cli(tmp_path, "demo", "--no-serve", "--size", "small", "--seed", "5")
    assert second.returncode == 0, second.stderr
    assert "Reusing the demo" in second.stdout
    assert "Admin user: admin / " not in second.stdout
    with sqlite3.connect(tmp_path / "salesradar.sqlite3") as connection:
        assert connection.execute("SELECT COUNT(*) FROM crm_customer").fetchone()[0] == 300


def test_foreign_database_in_the_data_dir_stops_every_command(tmp_path: Path) -> None:
    foreign = tmp_path / "salesradar.sqlite3"
    foreign.write_bytes(b"not a database at all")
    result = run_cli(tmp_path, "demo", "--no-serve")
    assert result.returncode == 2
    assert "not a SQLite database" in result.stderr
    assert foreign.read_bytes() == b"not a database at all"


def test_invalid_playbook_is_reported_with_file_stage_and_field(tmp_path: Path) -> None:
    playbook = tmp_path / "bad.yaml"
    playbook.write_text(
        "process: {key: broken}\nstages:\n  - {key: first, label: First, probability: 150}\n",
        encoding="utf-8",
    )
    result = run_cli(tmp_path, "playbook", "validate", str(playbook))
    assert result.returncode == 1
    assert f"{playbook}" in result.stderr
    assert "stages[0] (first).probability" in result.stderr


def test_serve_refuses_a_port_that_is_taken() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(CommandError, match=f"Port {port} on 127.0.0.1 is already in use"):
            call_command("serve", port=port, migrate=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_answers_pages_and_static_files(tmp_path: Path) -> None:
    import time
    import urllib.error
    import urllib.request

    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SALESRADAR_")}
    environment["SALESRADAR_DATA_DIR"] = str(tmp_path)
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "salesradar.cli", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    assert json.loads(response.read()) == {"status": "ok", "database": "sqlite"}
                    break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "server did not come up within 60 s"
                time.sleep(0.3)
        with urllib.request.urlopen(f"{base}/", timeout=5) as response:
            assert response.url.startswith(f"{base}/login/")  # the app's own sign-in page
        with urllib.request.urlopen(f"{base}/static/admin/css/base.css", timeout=5) as response:
            assert response.status == 200 and b"body" in response.read()
        vendored = f"{base}/static/web/vendor/echarts/echarts.min.js"
        with urllib.request.urlopen(vendored, timeout=5) as response:
            assert response.status == 200 and b"echarts" in response.read(4096)
    finally:
        server.terminate()
        server.wait(timeout=10)
