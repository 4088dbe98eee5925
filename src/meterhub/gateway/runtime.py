"""The gateway's long-lived parts, built once per app: the device network model, the seed that
makes it deterministic, the optional XSD validator, and the DCC's own party."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.parties.models import Party


@dataclass
class GatewayRuntime:
    seed: int
    network: Any
    validator: Any | None
    max_bytes: int
    max_depth: int
    dcc_party_code: str
    _dcc_party_id: int | None = field(default=None, init=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayRuntime:
        from meterhub.gateway.network import NetworkModel

        validator = None
        if settings.duis_schema_dir:
            from meterhub.gateway.xml import XsdValidator

            validator = XsdValidator(Path(settings.duis_schema_dir))
        return cls(
            seed=settings.network_seed,
            network=NetworkModel.default(),
            validator=validator,
            max_bytes=settings.max_body_bytes,
            max_depth=64,
            dcc_party_code=settings.dcc_party_code,
        )

    def dcc_party_id(self, session: Session) -> int | None:
        if self._dcc_party_id is None:
            self._dcc_party_id = session.scalar(
                select(Party.id).where(Party.code == self.dcc_party_code)
            )
        return self._dcc_party_id
