"""``meterhub duis send``: send one DUIS request file to a running hub, as a user's system would.

It talks HTTP to ``/api/v1/duis`` with the user's API token, never to the database: what it
shows is exactly what the user's own DUIS client would get (the acknowledgement, a refusal with
its code and reason, and with ``--wait`` the device's response once it is released).

The hub's address is ``--url``, else ``METERHUB_HUB_URL``, else where ``meterhub serve`` listens
under the same settings (``METERHUB_SERVE_HOST`` and ``METERHUB_SERVE_PORT``), so one setting of
the port serves both.

Exit status: 0 acknowledged (and, with ``--wait``, answered with success), 1 the request could
not be sent (no file, no token, bad URL, hub unreachable), 2 refused by the hub, 3 no response
within ``--timeout``, 4 the response arrived and is a failure (E20 unable to communicate ...).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import typer
from lxml import etree
from rich.syntax import Syntax

from meterhub.cli.common import console, fail
from meterhub.config import get_settings

REFUSED = 2
TIMED_OUT = 3
FAILED_RESPONSE = 4
POLL_SECONDS = 0.25

_SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
# The hub's answers are trusted more than a request, but are still parsed without entities,
# DTDs or network access.
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, remove_blank_text=True, load_dtd=False
)


def open_client(url: str, token: str, timeout: float) -> httpx.Client:
    """The HTTP client the command uses; tests may swap it for one bound to an app."""
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)


def _pretty(xml: bytes | str) -> str:
    raw = xml.encode() if isinstance(xml, str) else xml
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError:
        return raw.decode("utf-8", "replace")
    return etree.tostring(root, pretty_print=True, encoding="unicode")


def _show_xml(xml: bytes | str) -> None:
    """Highlighted on a terminal; never wrapped or cropped, so the XML can be copied whole."""
    console.print(Syntax(_pretty(xml), "xml", background_color="default"), soft_wrap=True)


def _header_field(xml: bytes, name: str) -> str | None:
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError:
        return None
    found = root.find(f"{_SR}Header/{_SR}{name}")
    return found.text if found is not None and found.text else None


def _api_error(response: httpx.Response) -> str:
    """One line for a non-DUIS answer: the API's ``{"error": {...}}`` or the bare status."""
    try:
        error = response.json()["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code} from {response.request.url}"


def _request(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        return client.request(method, path, **kwargs)
    except httpx.ConnectError as exc:
        raise fail(f"cannot reach the hub at {client.base_url}: {exc}") from None
    except httpx.TimeoutException:
        raise fail(f"the hub at {client.base_url} did not answer in time") from None
    except httpx.HTTPError as exc:
        raise fail(f"{type(exc).__name__} talking to {client.base_url}: {exc}") from None


def _check_url(url: str, source: str = "--url") -> str:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise fail(f"bad {source} {url!r}: give the hub's address, e.g. http://127.0.0.1:8000")
    return url.rstrip("/")


def _wait_for_response(client: httpx.Client, request_id: str, timeout: float) -> int:
    """Poll the request's status until its response is released; print it; the exit status."""
    path = f"/api/v1/duis/requests/{quote(request_id, safe=':')}"
    deadline = time.monotonic() + timeout
    state = "unknown"
    while True:
        answer = _request(client, "GET", path)
        if answer.status_code != 200:
            raise fail(_api_error(answer), REFUSED)
        status = answer.json()
        state = status["state"]
        responses = [m for m in status["messages"] if m["kind"] == "response"]
        if state == "responded" and responses:
            break
        if time.monotonic() >= deadline:
            raise fail(
                f"no response to {request_id} within {timeout:g} s (still {state})", TIMED_OUT
            )
        time.sleep(POLL_SECONDS)
    code = status["response_code"]
    rtt = status["rtt_ms"]
    reason = f" ({status['failure_reason']})" if status.get("failure_reason") else ""
    console.print(f"response: {code}{reason} after {rtt} ms", highlight=False, soft_wrap=True)
    _show_xml(responses[0]["xml"])
    for alert in (m for m in status["messages"] if m["kind"] == "alert"):
        console.print(f"alert: {alert['code']}", highlight=False)
    return 0 if str(code).startswith("I") else FAILED_RESPONSE


def send(
    file: Path = typer.Argument(..., help="A DUIS 5.4 Request, as XML", show_default=False),
    url: str = typer.Option(
        "",
        "--url",
        help="The hub's base URL [default: METERHUB_HUB_URL, else "
        "http://METERHUB_SERVE_HOST:METERHUB_SERVE_PORT, i.e. http://127.0.0.1:8000]",
        show_default=False,
    ),
    token: str = typer.Option(
        "", "--token", envvar="METERHUB_TOKEN", help="Your API token", show_default=False
    ),
    wait: bool = typer.Option(False, "--wait/--no-wait", help="Wait for the device's response"),
    timeout: float = typer.Option(30.0, "--timeout", min=0, help="Seconds to wait with --wait"),
) -> None:
    """Send FILE to the hub's DUIS endpoint; show the acknowledgement (and, with --wait, the
    response). Exit 2 if refused, 3 if no response in time, 4 if the response is a failure."""
    base = _check_url(url) if url else _check_url(get_settings().resolved_hub_url(), "hub URL")
    if not token.strip():
        raise fail("no API token: pass --token or set METERHUB_TOKEN")
    try:
        body = file.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror or exc}") from None

    with open_client(base, token.strip(), max(timeout, 10.0)) as client:
        answer = _request(
            client,
            "POST",
            "/api/v1/duis",
            content=body,
            headers={"Content-Type": "application/xml"},
        )
        code = answer.headers.get("X-DUIS-Response-Code")
        if code is None:
            raise fail(_api_error(answer), REFUSED if answer.status_code < 500 else 1)
        request_id = _header_field(answer.content, "RequestID")
        console.print(
            f"{'acknowledged' if answer.status_code == 200 else 'refused'}: {code}"
            + (f" {request_id}" if request_id else ""),
            highlight=False,
            soft_wrap=True,
        )
        _show_xml(answer.content)
        if answer.status_code != 200:
            reason = answer.headers.get("X-DUIS-Reason") or "refused by the hub"
            raise fail(f"{code}: {reason}", REFUSED)
        if not wait:
            return
        if request_id is None:
            raise fail("the acknowledgement carries no RequestID to wait for")
        exit_code = _wait_for_response(client, request_id, timeout)
    if exit_code:
        raise typer.Exit(exit_code)


def register(app: typer.Typer) -> None:
    duis_app = typer.Typer(
        help="Send DUIS service requests to a running hub.", no_args_is_help=True
    )
    duis_app.command("send")(send)
    app.add_typer(duis_app, name="duis")
