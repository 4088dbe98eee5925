"""``/api/v1/registrations`` and ``/api/v1/meter-points/{mpxn}/...``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from meterhub.api.deps import CurrentActor, DbSession
from meterhub.api.responses import JSON_BODY, refusals
from meterhub.errors import NotFound
from meterhub.kit.clock import today, utcnow
from meterhub.kit.schema import IsoDate
from meterhub.registration import service
from meterhub.registration.models import Registration
from meterhub.registration.schemas import (
    HeldOnOut,
    RegistrationIn,
    RegistrationOut,
    ShipperShareOut,
    ShippersOut,
)

# Every meter point route: one your party took no part in is a 404, like one that does not exist.
router = APIRouter(tags=["registration"], responses=refusals(404))


def registration_out(row: Registration) -> RegistrationOut:
    return RegistrationOut(
        id=row.id,
        mpxn=row.mpxn,
        supplier=row.supplier.code,
        shipper=row.shipper.code if row.shipper else None,
        network_operator=row.network_operator.code,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
    )


@router.post(
    "/registrations",
    response_model=RegistrationOut,
    status_code=201,
    responses={**JSON_BODY, **refusals(403, 409)},
)
def create_registration(
    body: RegistrationIn, session: DbSession, actor: CurrentActor
) -> RegistrationOut:
    """Load a registration period (hub operator). A later open period is a change of supplier:
    the previous holder's open period is closed the day before."""
    row = service.register(
        session,
        actor=actor,
        mpxn=body.mpxn,
        supplier=body.supplier,
        network_operator=body.network_operator,
        shipper=body.shipper,
        effective_from=body.effective_from,
        effective_to=body.effective_to,
        now=utcnow(),
    )
    return registration_out(row)


@router.get("/meter-points/{mpxn}/registrations", response_model=list[RegistrationOut])
def registration_history(
    mpxn: str, session: DbSession, actor: CurrentActor
) -> list[RegistrationOut]:
    """The periods of this meter point in which your party took part."""
    return [registration_out(r) for r in service.visible_history(session, actor=actor, mpxn=mpxn)]


@router.get("/meter-points/{mpxn}/held-on", response_model=HeldOnOut)
def held_on(
    mpxn: str, session: DbSession, actor: CurrentActor, day: IsoDate | None = None
) -> HeldOnOut:
    """Who held the meter point on ``day``. You must have taken part in that period."""
    visible = service.visible_history(session, actor=actor, mpxn=mpxn)
    on_day = day or today()
    row = service.registered_on(session, mpxn=visible[0].mpxn, day=on_day)
    if row is not None and row not in visible:
        raise NotFound(f"no registration of {visible[0].mpxn} on {on_day} that you took part in")
    return HeldOnOut(
        mpxn=visible[0].mpxn, day=on_day, registration=registration_out(row) if row else None
    )


@router.get("/meter-points/{mpxn}/shippers", response_model=ShippersOut)
def shippers(
    mpxn: str,
    session: DbSession,
    actor: CurrentActor,
    start: Annotated[IsoDate, Query(alias="from")],
    end: Annotated[IsoDate, Query(alias="to")],
) -> ShippersOut:
    """Each shipper registered to a gas meter point over a period, with its day count (the split
    of a theft claim). Your party must have taken part in the meter point's history."""
    visible = service.visible_history(session, actor=actor, mpxn=mpxn)
    shares = service.shippers_over(session, mpxn=visible[0].mpxn, start=start, end=end)
    return ShippersOut(
        mpxn=visible[0].mpxn,
        start=start,
        end=end,
        shippers=[
            ShipperShareOut(
                shipper=s.shipper.code, first_day=s.first_day, last_day=s.last_day, days=s.days
            )
            for s in shares
        ],
    )
