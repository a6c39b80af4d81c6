from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys

import httpx
import pytest
from click.testing import CliRunner

from ecodata.cli import cli


def test_bad_faults_give_one_line_and_exit_code_2() -> None:
    result = CliRunner().invoke(cli, ["simulate", "--faults", "bogus=1"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "ecodata: error: bad fault 'bogus=1': use kind=rate with kind one of http429, http500, http502, http503, "
        "drop, truncate, ocpi3000, slow, unknown_fields, mutate"]


def test_busy_port_is_one_clear_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["simulate", "--port", str(port)])
    assert result.exit_code == 2
    assert f"ecodata: error: cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_simulate_serves_until_ctrl_c_and_exits_cleanly() -> None:
    token = "cli-secret-token"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecodata.cli", "simulate", "--port", "0", "--token", token, "--seed", "3",
         "--faults", "http429=0.01"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.fullmatch(r"simulated Eco-Movement API: scale demo, seed 3, day 0, faults http429=0.01:1; "
                             r"(http://127\.0\.0\.1:(\d+)) \(Ctrl-C to stop\)\n", first)
        assert match, first
        assert match.group(2) != "0"
        r = httpx.get(f"{match.group(1)}/prices/connector_prices?limit=3", headers={"Authorization": f"Token {token}"},
                      timeout=10)
        assert r.status_code == 200
        assert len(r.json()["data"]) == 3
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert token not in first + out + err


@pytest.mark.parametrize("width", [60, 80, 100, 120])
def test_simulate_help_never_breaks_a_fault_rate(width):
    result = CliRunner().invoke(cli, ["simulate", "--help"], terminal_width=width)
    assert result.exit_code == 0
    assert re.search(r"[\d.]\n\s*[\d.]", result.output) is None  # no number split across lines
    text = " ".join(result.output.split())
    assert "e.g. http429=0.05, slow=0.02:1, drop=0.01, mutate=0.1 (quote the list" in text


@pytest.mark.parametrize("command", ["simulate", "demo"])
def test_every_scale_is_offered_on_the_command_line(command: str) -> None:
    from ecodata.simulator.config import SCALES

    option = next(p for p in cli.commands[command].params if p.name == "scale")
    assert list(option.type.choices) == list(SCALES)  # the CLI spells them out (no simulator import at start)
