"""Hand-written event lakes for report tests: every row chosen, so numbers can be worked out."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from meterhub.lake.schema import EVENT_SCHEMA, process_of, service_reference
from meterhub.lake.writer import EventLakeWriter


@dataclass(frozen=True)
class Meter:
    """A device as the lake records it on each event."""

    device_id: str
    mpxn: str | None = None
    device_type: str = "ESME"
    manufacturer: str = "Acme"
    model: str = "ACME-1"
    firmware_version: str = "1.0.0"
    smets_version: str = "SMETS2"
    csp_region: str = "North"

    def columns(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "mpxn": self.mpxn,
            "device_type": self.device_type,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "firmware_version": self.firmware_version,
            "smets_version": self.smets_version,
            "csp_region": self.csp_region,
        }


def meter(n: int, **kw: Any) -> Meter:
    kw.setdefault("mpxn", f"{1_200_000_000_000 + n}")
    return Meter(device_id=f"00-DB-12-00-00-00-{n // 256:02X}-{n % 256:02X}", **kw)


@dataclass
class LakeBuilder:
    """Collects rows; ``write`` puts them in a lake the way the gateway's writer would."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _requests: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _row(self, kind: str, at: datetime, **values: Any) -> None:
        self.rows.append({"event_id": next(self._ids), "event_time": at, "kind": kind, **values})

    def request(
        self,
        *,
        party: str,
        role: str,
        srv: str,
        at: datetime,
        device: Meter,
        code: str = "I0",
        rtt_ms: int = 1000,
        refused: bool = False,
        failure_reason: str | None = None,
        category: int | None = None,
        process: str | None = None,
    ) -> int:
        """One service request: received, then refused with ``code``, or acknowledged, sent and
        answered with ``code`` after ``rtt_ms``. Returns its request id."""
        rid = next(self._requests)
        common = {
            "request_id": rid,
            "originator_party": party,
            "originator_role": role,
            "srv": srv,
            "service_reference": service_reference(srv),
            "process": process or process_of(srv),
            "category": category,
            **device.columns(),
        }
        self._row("received", at, **common)
        if refused:
            self._row("refused", at + timedelta(milliseconds=20), response_code=code, **common)
            return rid
        self._row("acknowledged", at + timedelta(milliseconds=20), response_code="I99", **common)
        self._row("sent", at + timedelta(milliseconds=50), **common)
        if code != "I0" and failure_reason is None:
            failure_reason = "no_response"
        self._row(
            "response",
            at + timedelta(milliseconds=rtt_ms),
            response_code=code,
            rtt_ms=rtt_ms,
            failure_reason=failure_reason,
            **common,
        )
        return rid

    def alert(
        self,
        *,
        party: str,
        role: str,
        code: str,
        at: datetime,
        device: Meter,
        delivery_ms: int = 2000,
        request_id: int | None = None,
    ) -> None:
        self._row(
            "alert",
            at,
            request_id=request_id,
            originator_party=party,
            originator_role=role,
            alert_code=code,
            rtt_ms=delivery_ms,
            **device.columns(),
        )

    def write(self, root: Path) -> Path:
        columns = {name: [r.get(name) for r in self.rows] for name in EVENT_SCHEMA.names}
        EventLakeWriter(root, durable=False).write(columns, part="test")
        return root
