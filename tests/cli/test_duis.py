"""``meterhub duis send``: a DUIS request file to a hub over HTTP, as a user's system sends it.

Most cases point the command at the app in this process (``open_client`` returns a TestClient);
``TestAgainstARealServer`` runs ``meterhub serve`` with its worker and waits for real responses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from meterhub.app import create_app
from meterhub.cli import duis
from meterhub.cli.main import app
from meterhub.config import Settings, get_settings
from meterhub.inventory.models import Device
from meterhub.network.model import NetworkModel, request_rng
from tests.factories import (
    Login,
    make_api_login,
)
from tests.gateway.duis_factories import duis_id, read_registers
from tests.gateway.test_durability import HubProcess, free_port
from tests.worlds import make_supplied_meter, make_world

runner = CliRunner()


def meterhub(*args: str, token: str | None = None) -> Result:
    env = {"METERHUB_TOKEN": token} if token is not None else None
    return runner.invoke(app, ["duis", "send", *args], env=env)


def one_line(result: Result) -> str:
    """A failure is exactly one line on stderr."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@dataclass
class World:
    supplier: Login
    other: Login
    esme: Device
    smets1: Device
    other_esme: Device

    def read(self, tmp_path: Path, counter: int, device: Device | None = None) -> Path:
        """A 4.1.1 read from the supplier, written to a file."""
        device = device or self.esme
        path = tmp_path / f"read-{device.device_id}-{counter}.xml"
        path.write_bytes(read_registers(duis_id(self.supplier), device.device_id, counter))
        return path

    def request_id(self, counter: int, device: Device | None = None) -> str:
        return f"{duis_id(self.supplier)}:{(device or self.esme).device_id}:{counter}"


@pytest.fixture
def world(session: Session) -> World:
    parties = make_world(session, suppliers=2)
    supplier, other = parties.suppliers
    devices = [
        make_supplied_meter(
            session,
            supplier=party,
            network=parties.network,
            mpan_number=8800 + n,
            csp_region="Central4G",
            smets_version=smets,
        )
        for n, (party, smets) in enumerate(
            ((supplier, "SMETS2"), (supplier, "SMETS1"), (other, "SMETS2"))
        )
    ]
    world = World(
        supplier=make_api_login(session, party=supplier),
        other=make_api_login(session, party=other),
        esme=devices[0],
        smets1=devices[1],
        other_esme=devices[2],
    )
    session.commit()
    return world


@pytest.fixture
def in_process(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``meterhub duis send`` talks to this process's app (no worker: nothing is released)."""
    hub = create_app(settings)

    def open_client(url: str, token: str, timeout: float) -> httpx.Client:
        return TestClient(hub, base_url=url, headers={"Authorization": f"Bearer {token}"})

    monkeypatch.setattr(duis, "open_client", open_client)
    monkeypatch.delenv("METERHUB_TOKEN", raising=False)
    yield


@pytest.mark.usefixtures("in_process")
class TestSend:
    def test_acknowledgement_code_and_pretty_xml(self, world: World, tmp_path: Path) -> None:
        result = meterhub(str(world.read(tmp_path, 1)), "--token", world.supplier.token)
        assert result.exit_code == 0, result.output
        first, *xml = result.stdout.splitlines()
        assert first == f"acknowledged: I99 {world.request_id(1)}"
        assert "  <sr:Header>" in xml  # indented, one element a line
        assert "    <sr:ResponseCode>I99</sr:ResponseCode>" in xml

    def test_token_from_the_environment(self, world: World, tmp_path: Path) -> None:
        result = meterhub(str(world.read(tmp_path, 1)), token=world.supplier.token)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("acknowledged: I99")

    def test_a_refusal_exits_2_with_code_and_reason_in_one_line(
        self, world: World, tmp_path: Path
    ) -> None:
        path = world.read(tmp_path, 1, world.other_esme)
        result = meterhub(str(path), "--token", world.supplier.token)
        assert result.exit_code == 2
        line = one_line(result)
        assert line.startswith("error: E4: ")
        assert "not entitled to " + world.other_esme.device_id in line
        assert "<sr:ResponseCode>E4</sr:ResponseCode>" in result.stdout

    def test_a_replayed_file_is_refused_with_its_reason(self, world: World, tmp_path: Path) -> None:
        path = world.read(tmp_path, 5)
        assert meterhub(str(path), "--token", world.supplier.token).exit_code == 0
        again = meterhub(str(path), "--token", world.supplier.token)
        assert again.exit_code == 2
        assert one_line(again).startswith("error: E65: counter 5 is not above 5")

    def test_a_counter_past_signed_64_bits_is_acknowledged_and_must_still_rise(
        self, world: World, tmp_path: Path
    ) -> None:
        highest = world.read(tmp_path, 2**64 - 1)
        result = meterhub(str(highest), "--token", world.supplier.token)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"acknowledged: I99 {world.request_id(2**64 - 1)}")
        lower = meterhub(str(world.read(tmp_path, 2**63)), "--token", world.supplier.token)
        assert lower.exit_code == 2
        assert one_line(lower).startswith(f"error: E65: counter {2**63} is not above {2**64 - 1}")

    def test_waiting_gives_up_after_the_timeout_with_exit_3(
        self, world: World, tmp_path: Path
    ) -> None:
        path = world.read(tmp_path, 1)
        result = meterhub(str(path), "--token", world.supplier.token, "--wait", "--timeout", "0.5")
        assert result.exit_code == 3
        assert one_line(result) == (
            f"error: no response to {world.request_id(1)} within 0.5 s (still queued)"
        )
        assert result.stdout.startswith("acknowledged: I99")

    def test_an_unknown_token_is_one_line(self, world: World, tmp_path: Path) -> None:
        result = meterhub(str(world.read(tmp_path, 1)), "--token", "not-a-token")
        assert result.exit_code == 2
        assert one_line(result) == "error: bad_token: the token is unknown or revoked"

    def test_no_token_is_one_line(self, world: World, tmp_path: Path) -> None:
        result = meterhub(str(world.read(tmp_path, 1)))
        assert result.exit_code == 1
        assert one_line(result) == "error: no API token: pass --token or set METERHUB_TOKEN"

    def test_a_missing_file_is_one_line(self, world: World, tmp_path: Path) -> None:
        result = meterhub(str(tmp_path / "nope.xml"), "--token", world.supplier.token)
        assert result.exit_code == 1
        assert one_line(result).startswith(f"error: cannot read {tmp_path / 'nope.xml'}")

    @pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://hub.example", "http://"])
    def test_a_bad_url_is_one_line(self, world: World, tmp_path: Path, url: str) -> None:
        path = world.read(tmp_path, 1)
        result = meterhub(str(path), "--token", world.supplier.token, "--url", url)
        assert result.exit_code == 1
        assert one_line(result).startswith(f"error: bad --url '{url}'")


def test_nobody_listening_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "request.xml"
    path.write_bytes(read_registers("90-B3-D5-1F-30-00-00-01", "00-DB-12-00-00-00-00-01", 1))
    url = f"http://127.0.0.1:{free_port()}"
    result = meterhub(str(path), "--token", "t", "--url", url)
    assert result.exit_code == 1
    assert one_line(result).startswith(f"error: cannot reach the hub at {url}")


class TestTheHubsAddress:
    """Without ``--url`` the command finds the hub where the settings say it listens."""

    @pytest.fixture
    def request_file(self, tmp_path: Path) -> Path:
        path = tmp_path / "request.xml"
        path.write_bytes(read_registers("90-B3-D5-1F-30-00-00-01", "00-DB-12-00-00-00-00-01", 1))
        return path

    @pytest.fixture(autouse=True)
    def fresh_settings(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        for name in ("METERHUB_HUB_URL", "METERHUB_SERVE_HOST", "METERHUB_SERVE_PORT"):
            monkeypatch.delenv(name, raising=False)
        get_settings.cache_clear()
        yield
        get_settings.cache_clear()

    def test_the_serve_port_setting_is_where_it_sends(
        self, request_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        port = free_port()
        monkeypatch.setenv("METERHUB_SERVE_PORT", str(port))
        result = meterhub(str(request_file), "--token", "t")
        assert result.exit_code == 1
        assert one_line(result).startswith(
            f"error: cannot reach the hub at http://127.0.0.1:{port}"
        )

    def test_the_hub_url_setting_comes_first(
        self, request_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        url = f"http://127.0.0.1:{free_port()}"
        monkeypatch.setenv("METERHUB_SERVE_PORT", "8123")
        monkeypatch.setenv("METERHUB_HUB_URL", url + "/")
        result = meterhub(str(request_file), "--token", "t")
        assert one_line(result).startswith(f"error: cannot reach the hub at {url}")

    def test_a_bad_hub_url_setting_is_one_line(
        self, request_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("METERHUB_HUB_URL", "hub.example:8000")
        result = meterhub(str(request_file), "--token", "t")
        assert one_line(result).startswith("error: bad hub URL 'hub.example:8000'")

    @pytest.mark.parametrize(
        ("host", "port", "url"),
        [
            ("127.0.0.1", 8000, "http://127.0.0.1:8000"),
            ("0.0.0.0", 8080, "http://127.0.0.1:8080"),
            ("::", 9000, "http://[::1]:9000"),
            ("hub.example", 443, "http://hub.example:443"),
        ],
    )
    def test_the_default_follows_the_serve_settings(self, host: str, port: int, url: str) -> None:
        assert Settings(serve_host=host, serve_port=port).resolved_hub_url() == url


def first_counter(
    world: World, device: Device, *, code: str, seed: int, after: int = 0
) -> tuple[int, float]:
    """The first counter above ``after`` whose read the seeded network answers with ``code``
    within 8 s (the hub plans each answer from the seed and the RequestID alone)."""
    model = NetworkModel.default()
    for counter in range(after + 1, after + 5000):
        outcome = model.deliver(
            device, "4.1.1", request_rng(seed, world.request_id(counter, device))
        )
        if outcome.response_code == code and outcome.rtt_ms < 8000:
            return counter, outcome.rtt_ms
    raise AssertionError(f"no counter gets {code}")


@pytest.mark.integration
class TestAgainstARealServer:
    SEED = 77

    @pytest.fixture
    def hub(self, settings: Settings, world: World, tmp_path: Path) -> Iterator[HubProcess]:
        hub = HubProcess(tmp_path, {**os.environ, "METERHUB_NETWORK_SEED": str(self.SEED)})
        hub.start()
        try:
            yield hub
        finally:
            hub.stop()

    def test_wait_prints_the_response_then_a_failure_exits_4(
        self, hub: HubProcess, world: World, tmp_path: Path
    ) -> None:
        ok, rtt = first_counter(world, world.esme, code="I0", seed=self.SEED)
        result = meterhub(
            str(world.read(tmp_path, ok)),
            *("--url", hub.url, "--token", world.supplier.token, "--wait"),
        )
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0] == f"acknowledged: I99 {world.request_id(ok)}"
        assert f"response: I0 after {int(rtt)} ms" in lines
        assert "    <sr:ResponseCode>I0</sr:ResponseCode>" in lines

        # A SMETS1 meter whose service provider rejects the read: E65, with an N55 alert.
        rejected, _ = first_counter(world, world.smets1, code="E65", seed=self.SEED, after=ok)
        result = meterhub(
            str(world.read(tmp_path, rejected, world.smets1)),
            *("--url", hub.url, "--token", world.supplier.token, "--wait"),
        )
        assert result.exit_code == 4, result.output
        assert "response: E65 (s1sp_validation) after" in result.stdout
        assert "alert: N55" in result.stdout.splitlines()
