"""The marketplace's rules: listing against real stock, allocation by the published rule, the
rule's versions and the transaction log."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from meterhub.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from meterhub.hub_market import service
from meterhub.notifications import service as notifications
from tests.hub_market.conftest import NOW, STOCK, Market, actor, hold_hubs

NOTICE = timedelta(days=28)


def request(
    session: Session, market: Market, who: str, listing_id: int, quantity: int
) -> service.Outcome:
    login = getattr(market, f"login_{who}")
    return service.request_units(
        session, actor=actor(login), listing_id=listing_id, quantity=quantity, now=NOW
    )


class TestListingAgainstStock:
    def test_a_holder_lists_no_more_than_the_pending_hubs_it_holds(
        self, session: Session, market: Market
    ) -> None:
        with pytest.raises(Conflict) as refused:
            market.list_stock(session, quantity=13)
        assert refused.value.code == "more_than_held"
        assert refused.value.details == {"held": 12, "listed": 0, "promised": 0, "free": 12}
        assert market.list_stock(session, quantity=12).quantity == 12

    def test_other_kinds_statuses_and_holders_do_not_count(
        self, session: Session, market: Market
    ) -> None:
        hold_hubs(session, owner=market.a, count=3, firmware_version="2.0.0")
        hold_hubs(session, owner=market.a, count=3, status="Commissioned")
        hold_hubs(session, owner=market.a, count=3, csp_region="South")
        hold_hubs(session, owner=market.b, count=3)
        with pytest.raises(Conflict):
            market.list_stock(session, quantity=13)
        assert market.list_stock(session, quantity=3, firmware_version="2.0.0").quantity == 3

    def test_open_listings_and_allocated_units_are_spoken_for(
        self, session: Session, market: Market
    ) -> None:
        first = market.list_stock(session, quantity=8)
        with pytest.raises(Conflict) as refused:
            market.list_stock(session, quantity=5)
        assert refused.value.details["listed"] == 8
        request(session, market, "b", first.id, 8)  # all allocated, not yet received
        with pytest.raises(Conflict) as still:
            market.list_stock(session, quantity=5)
        assert still.value.details == {"held": 12, "listed": 0, "promised": 8, "free": 4}
        assert market.list_stock(session, quantity=4).quantity == 4

    def test_only_ordering_parties_list(self, session: Session, market: Market) -> None:
        for login in (market.login_network, market.login_dcc):
            with pytest.raises(PermissionDenied):
                service.create_listing(
                    session,
                    actor=actor(login),
                    quantity=1,
                    location="Depot",
                    available_from=date(2026, 12, 7),
                    now=NOW,
                    **STOCK,
                )

    @pytest.mark.parametrize(
        ("changes", "code"),
        [
            ({"available_from": date(2026, 11, 30)}, "available_from_past"),
            ({"csp_region": "Mars"}, "bad_region"),
            ({"location": " "}, "bad_location"),
            ({"quantity": 0}, "bad_quantity"),
        ],
    )
    def test_bad_terms_are_refused(
        self, session: Session, market: Market, changes: dict[str, object], code: str
    ) -> None:
        with pytest.raises(InvalidInput) as refused:
            market.list_stock(session, **changes)
        assert refused.value.code == code

    def test_the_region_is_read_in_any_letter_case(self, session: Session, market: Market) -> None:
        assert market.list_stock(session, quantity=2, csp_region="north").csp_region == "North"


class TestAmendAndWithdraw:
    def test_amending_changes_the_terms_and_the_version(
        self, session: Session, market: Market
    ) -> None:
        listing = market.list_stock(session, quantity=5)
        amended = service.amend_listing(
            session, actor=actor(market.login_a), listing_id=listing.id, quantity=7, now=NOW
        )
        assert (amended.quantity, amended.version) == (7, 2)
        same = service.amend_listing(
            session, actor=actor(market.login_a), listing_id=listing.id, quantity=7, now=NOW
        )
        assert same.version == 2  # the same terms again are no amendment
        with pytest.raises(Conflict):
            service.amend_listing(
                session, actor=actor(market.login_a), listing_id=listing.id, quantity=13, now=NOW
            )

    def test_nothing_changes_once_a_unit_is_allocated(
        self, session: Session, market: Market
    ) -> None:
        listing = market.list_stock(session, quantity=5)
        request(session, market, "b", listing.id, 1)
        with pytest.raises(Conflict) as amend:
            service.amend_listing(
                session, actor=actor(market.login_a), listing_id=listing.id, quantity=4, now=NOW
            )
        with pytest.raises(Conflict) as withdraw:
            service.withdraw_listing(
                session, actor=actor(market.login_a), listing_id=listing.id, now=NOW
            )
        assert amend.value.code == withdraw.value.code == "listing_allocated"

    def test_a_withdrawn_listing_leaves_the_market_and_is_its_holders_alone(
        self, session: Session, market: Market
    ) -> None:
        listing = market.list_stock(session, quantity=5)
        service.withdraw_listing(
            session, actor=actor(market.login_a), listing_id=listing.id, now=NOW
        )
        assert service.open_listings(session, actor=actor(market.login_b)).items == []
        with pytest.raises(NotFound):
            service.get_listing(session, actor=actor(market.login_b), listing_id=listing.id)
        mine = service.get_listing(session, actor=actor(market.login_a), listing_id=listing.id)
        assert mine.status == "withdrawn"
        with pytest.raises(NotFound):
            request(session, market, "b", listing.id, 1)

    def test_another_partys_listing_cannot_be_amended_or_withdrawn(
        self, session: Session, market: Market
    ) -> None:
        listing = market.list_stock(session, quantity=5)
        with pytest.raises(NotFound):
            service.amend_listing(
                session, actor=actor(market.login_b), listing_id=listing.id, quantity=1, now=NOW
            )
        with pytest.raises(NotFound):
            service.withdraw_listing(
                session, actor=actor(market.login_b), listing_id=listing.id, now=NOW
            )


class TestSeeingAndFiltering:
    def test_every_ordering_party_filters_open_listings(
        self, session: Session, market: Market
    ) -> None:
        hold_hubs(session, owner=market.a, count=2, firmware_version="2.0.0", csp_region="South")
        north = market.list_stock(session, quantity=4)
        south = market.list_stock(session, quantity=2, firmware_version="2.0.0", csp_region="South")
        see = service.open_listings
        assert [x.id for x in see(session, actor=actor(market.login_c)).items] == [
            south.id,
            north.id,
        ]
        flt = service.ListingFilter(firmware_version="2.0.0")
        assert [x.id for x in see(session, actor=actor(market.login_b), flt=flt).items] == [
            south.id
        ]
        flt = service.ListingFilter(csp_region="north", model="ACME-1")
        assert [x.id for x in see(session, actor=actor(market.login_dcc), flt=flt).items] == [
            north.id
        ]
        with pytest.raises(PermissionDenied):
            see(session, actor=actor(market.login_network))

    def test_pages_follow_the_cursor(self, session: Session, market: Market) -> None:
        made = [market.list_stock(session, quantity=1).id for _ in range(5)]
        seen: list[int] = []
        cursor = None
        while True:
            page = service.open_listings(
                session, actor=actor(market.login_b), limit=2, cursor=cursor
            )
            seen += [x.id for x in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == made[::-1]


class TestAllocationFirstComeFirstServed:
    def test_requests_are_served_in_order_until_nothing_is_left(
        self, session: Session, market: Market
    ) -> None:
        listing = market.list_stock(session, quantity=10)
        first = request(session, market, "b", listing.id, 4)
        second = request(session, market, "c", listing.id, 9)
        third = request(session, market, "b", listing.id, 1)
        assert (first.request.status, first.request.allocated_quantity) == ("allocated", 4)
        assert (second.request.status, second.request.allocated_quantity) == ("part_allocated", 6)
        assert (third.request.status, third.request.allocated_quantity) == ("refused", 0)
        assert "allocated to earlier requests" in third.request.reason
        assert third.transfer is None
        assert first.transfer is not None and second.transfer is not None
        assert re.fullmatch(r"TR-\d{6}", first.transfer.reference)
        assert first.transfer.reference == f"TR-{first.transfer.id:06d}"
        assert (first.transfer.status, first.transfer.quantity) == ("allocated", 4)
        assert first.transfer.sender_party_id == market.a.id
        assert second.transfer.receiver_party_id == market.c.id
        session.refresh(listing)
        assert (listing.allocated, listing.status) == (10, "closed")
        assert first.request.rule_version == 1

    def test_a_party_cannot_request_its_own_listing(self, session: Session, market: Market) -> None:
        listing = market.list_stock(session, quantity=3)
        with pytest.raises(Conflict) as refused:
            request(session, market, "a", listing.id, 1)
        assert refused.value.code == "own_listing"

    def test_a_request_on_terms_since_amended_is_refused(
        self, session: Session, market: Market
    ) -> None:
        listing = market.list_stock(session, quantity=3)
        service.amend_listing(
            session, actor=actor(market.login_a), listing_id=listing.id, location="Hull", now=NOW
        )
        with pytest.raises(Conflict) as refused:
            service.request_units(
                session,
                actor=actor(market.login_b),
                listing_id=listing.id,
                quantity=1,
                listing_version=1,
                now=NOW,
            )
        assert refused.value.code == "listing_amended"

    def test_both_sides_are_told_the_outcome(self, session: Session, market: Market) -> None:
        listing = market.list_stock(session, quantity=3)
        outcome = request(session, market, "b", listing.id, 5)
        assert outcome.transfer is not None
        ref = outcome.transfer.reference
        to_b = notifications.inbox(session, actor=actor(market.login_b))
        to_a = notifications.inbox(session, actor=actor(market.login_a))
        assert [n.subject for n in to_b] == [f"{ref}: 3 hubs allocated to you by ALPHA"]
        assert [n.subject for n in to_a] == [f"{ref}: 3 of your hubs allocated to BRAVO"]
        assert "3 Communications Hubs of the 5 you asked for" in to_b[0].body
        refused = request(session, market, "c", listing.id, 1)
        to_c = notifications.inbox(session, actor=actor(market.login_c))
        assert [n.kind for n in to_c] == ["market.request_refused"]
        assert refused.request.reason in to_c[0].body
        assert len(notifications.inbox(session, actor=actor(market.login_a))) == 1

    def test_a_request_is_its_requesters_alone(self, session: Session, market: Market) -> None:
        listing = market.list_stock(session, quantity=3)
        outcome = request(session, market, "b", listing.id, 1)
        rid = outcome.request.id
        for other in (market.login_a, market.login_c):
            with pytest.raises(NotFound):
                service.get_request(session, actor=actor(other), request_id=rid)
        assert service.get_request(session, actor=actor(market.login_dcc), request_id=rid)
        assert [
            o.request.id for o in service.my_requests(session, actor=actor(market.login_b)).items
        ] == [rid]
        assert service.my_requests(session, actor=actor(market.login_c)).items == []


class TestTheRule:
    def test_version_one_is_first_come_first_served(self, session: Session) -> None:
        rule = service.rule_in_force(session, now=NOW)
        assert (rule.version, rule.code, rule.title) == (1, "fcfs", "First come, first served")
        assert "first come" in rule.text.lower()

    def test_a_new_version_is_announced_ahead_and_takes_effect_on_its_day(
        self, session: Session, market: Market
    ) -> None:
        later = NOW + timedelta(days=30)
        rule = service.announce_rule(
            session,
            actor=actor(market.login_dcc),
            code="fcfs_whole",
            title="Whole requests only",
            text="A request is met in full or not at all.",
            effective_from=later,
            notice=NOTICE,
            now=NOW,
        )
        assert (rule.version, rule.announced_at) == (2, NOW)
        assert service.rule_in_force(session, now=NOW).version == 1
        assert service.rule_in_force(session, now=later).version == 2
        told = {
            p.code: [n.subject for n in notifications.inbox(session, actor=actor(login))]
            for p, login in (
                (market.b, market.login_b),
                (market.network, market.login_network),
            )
        }
        assert told == {
            "BRAVO": [f"Marketplace allocation rule version 2 from {later:%Y-%m-%d}"],
            "DNO1": [],
        }
        listing = market.list_stock(session, quantity=3)
        before = request(session, market, "b", listing.id, 2)
        after = service.request_units(
            session, actor=actor(market.login_c), listing_id=listing.id, quantity=2, now=later
        )
        assert (before.request.allocated_quantity, before.request.rule_version) == (2, 1)
        assert (after.request.status, after.request.rule_version) == ("refused", 2)
        assert "whole requests only" in after.request.reason

    @pytest.mark.parametrize(
        ("who", "days", "error", "code"),
        [
            ("b", 30, PermissionDenied, "operator_only"),
            ("dcc", 27, InvalidInput, "too_little_notice"),
        ],
    )
    def test_only_the_operator_announces_with_notice(
        self,
        session: Session,
        market: Market,
        who: str,
        days: int,
        error: type[Exception],
        code: str,
    ) -> None:
        with pytest.raises(error) as refused:
            service.announce_rule(
                session,
                actor=actor(getattr(market, f"login_{who}")),
                code="fcfs",
                title="t",
                text="x",
                effective_from=NOW + timedelta(days=days),
                notice=NOTICE,
                now=NOW,
            )
        assert refused.value.code == code  # type: ignore[attr-defined]

    def test_versions_take_effect_in_order(self, session: Session, market: Market) -> None:
        kwargs = {
            "actor": actor(market.login_dcc),
            "code": "fcfs",
            "title": "t",
            "text": "x",
            "notice": NOTICE,
            "now": NOW,
        }
        service.announce_rule(session, effective_from=NOW + timedelta(days=60), **kwargs)  # type: ignore[arg-type]
        with pytest.raises(Conflict):
            service.announce_rule(session, effective_from=NOW + timedelta(days=40), **kwargs)  # type: ignore[arg-type]
        assert [r.version for r in service.rule_versions(session)] == [1, 2]


class TestTheLog:
    def _trade(self, session: Session, market: Market) -> None:
        listing = market.list_stock(session, quantity=6)
        request(session, market, "b", listing.id, 2)
        request(session, market, "c", listing.id, 2)
        request(session, market, "b", listing.id, 2)

    def test_each_party_reads_its_own_in_full(self, session: Session, market: Market) -> None:
        self._trade(session, market)
        mine = service.own_log(session, actor=actor(market.login_c)).items
        assert [(e.sender, e.receiver, e.quantity) for e in mine] == [("ALPHA", "CHARL", 2)]
        assert len(service.own_log(session, actor=actor(market.login_a)).items) == 3
        assert len(service.own_log(session, actor=actor(market.login_dcc)).items) == 3

    @pytest.mark.parametrize(
        ("mode", "pairs"),
        [
            ("labelled", [("Party A", "Party B"), ("Party A", "Party C"), ("Party A", "Party B")]),
            ("shown", [("ALPHA", "BRAVO"), ("ALPHA", "CHARL"), ("ALPHA", "BRAVO")]),
            ("hidden", [(None, None)] * 3),
        ],
    )
    def test_everyone_reads_the_public_log_as_the_operator_configures(
        self,
        session: Session,
        market: Market,
        mode: str,
        pairs: list[tuple[str | None, str | None]],
    ) -> None:
        self._trade(session, market)
        log = service.public_log(session, actor=actor(market.login_c), parties_shown=mode).items
        assert [(e.sender, e.receiver) for e in reversed(log)] == pairs
        with pytest.raises(PermissionDenied):
            service.public_log(session, actor=actor(market.login_network), parties_shown=mode)

    def test_labels_run_past_z(self) -> None:
        assert [service.party_label(n) for n in (0, 25, 26, 27)] == [
            "Party A",
            "Party Z",
            "Party AA",
            "Party AB",
        ]
