"""The estate generator on its own: deterministic for a seed, and shaped like the GB market."""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from datetime import date

from meterhub.demo.estate import DISTRIBUTION_AREAS, DNO_GROUPS, Estate, Row
from meterhub.inventory.service import DEVICE_COLUMNS
from meterhub.kit.ids import mpan_check_digit
from meterhub.registration.service import REGISTRATION_COLUMNS

AS_OF = date(2026, 11, 25)
DEVICE_TYPE = DEVICE_COLUMNS.index("device_type")
MPXN = REGISTRATION_COLUMNS.index("mpxn")
FROM = REGISTRATION_COLUMNS.index("effective_from")
TO = REGISTRATION_COLUMNS.index("effective_to")


def all_rows(estate: Estate) -> dict[str, list[Row]]:
    ids = {p.code: n for n, p in enumerate(estate.parties, start=1)}
    out: dict[str, list[Row]] = defaultdict(list)
    for batch in estate.rows(ids, batch_devices=500):
        out["meter_points"] += batch.meter_points
        out["registrations"] += batch.registrations
        out["devices"] += batch.devices
        out["history"] += batch.device_history
    return out


class TestDeterminism:
    def test_same_seed_gives_identical_parties_and_rows(self) -> None:
        a = Estate(seed=42, devices=1_500, as_of=AS_OF)
        b = Estate(seed=42, devices=1_500, as_of=AS_OF)
        assert a.parties == b.parties
        assert a.appointments == b.appointments
        assert all_rows(a) == all_rows(b)

    def test_another_seed_gives_another_estate(self) -> None:
        a = all_rows(Estate(seed=1, devices=1_500, as_of=AS_OF))
        b = all_rows(Estate(seed=2, devices=1_500, as_of=AS_OF))
        assert a["devices"] != b["devices"]
        assert a["registrations"] != b["registrations"]

    def test_batch_size_does_not_change_the_estate(self) -> None:
        estate = Estate(seed=3, devices=1_000, as_of=AS_OF)
        ids = {p.code: n for n, p in enumerate(estate.parties, start=1)}
        small = [d for b in estate.rows(ids, batch_devices=50) for d in b.devices]
        large = [d for b in estate.rows(ids, batch_devices=100_000) for d in b.devices]
        assert small == large


class TestShape:
    def test_device_count_is_the_one_asked_for(self) -> None:
        rows = all_rows(Estate(seed=5, devices=2_345, as_of=AS_OF))
        assert len(rows["devices"]) == 2_345
        assert len(rows["history"]) == 2_345
        assert len({d[0] for d in rows["devices"]}) == 2_345

    def test_fourteen_areas_each_served_by_a_network_operator_party(self) -> None:
        assert sorted(a.distributor_id for a in DISTRIBUTION_AREAS) == list(range(10, 24))
        plan = {p.code: p for p in Estate(seed=1, devices=100, as_of=AS_OF).parties}
        for area in DISTRIBUTION_AREAS:
            assert "ED" in plan[area.network_operator].roles
            assert "GT" in plan[area.gas_network].roles
        assert {a.network_operator for a in DISTRIBUTION_AREAS} == {g.code for g in DNO_GROUPS}

    def test_tens_of_suppliers_with_a_long_tail(self) -> None:
        suppliers = Estate(seed=1, devices=100, as_of=AS_OF).suppliers
        assert 30 <= len(suppliers) <= 40
        shares = sorted((s.market_share for s in suppliers), reverse=True)
        assert shares[0] > 10 * statistics.median(shares)
        assert sum(shares[:6]) > 0.5

    def test_party_codes_are_unique(self) -> None:
        codes = [p.code for p in Estate(seed=9, devices=100, as_of=AS_OF).parties]
        assert len(codes) == len(set(codes))

    def test_mpans_carry_their_area_and_a_valid_check_digit(self) -> None:
        rows = all_rows(Estate(seed=4, devices=3_000, as_of=AS_OF))
        mpans = [m[0] for m in rows["meter_points"] if m[1] == "electricity"]
        assert {int(m[:2]) for m in mpans} == set(range(10, 24))
        assert all(mpan_check_digit(m[:12]) == int(m[12]) for m in mpans)
        mprns = [m[0] for m in rows["meter_points"] if m[1] == "gas"]
        assert mprns and all(len(m) == 10 and m.isdigit() for m in mprns)

    def test_registration_periods_chain_without_overlap(self) -> None:
        rows = all_rows(Estate(seed=4, devices=3_000, as_of=AS_OF))
        periods: dict[str, list[Row]] = defaultdict(list)
        for r in rows["registrations"]:
            periods[r[MPXN]].append(r)
        switched = 0
        for chain in periods.values():
            chain.sort(key=lambda r: r[FROM])
            assert chain[-1][TO] is None
            for before, after in itertools.pairwise(chain):
                assert before[TO] == date.fromordinal(after[FROM].toordinal() - 1)
            switched += len(chain) > 1
        assert switched > len(periods) // 5

    def test_kit_is_mostly_smets2_and_mostly_commissioned(self) -> None:
        devices = all_rows(Estate(seed=6, devices=5_000, as_of=AS_OF))["devices"]
        by_version = defaultdict(int)
        by_status = defaultdict(int)
        for d in devices:
            by_version[d[DEVICE_COLUMNS.index("smets_version")]] += 1
            by_status[d[DEVICE_COLUMNS.index("status")]] += 1
        assert by_version["SMETS2"] > by_version["SMETS1"] > 0
        assert by_status["Commissioned"] > 0.8 * len(devices)
        assert by_status["Pending"] > 0
        types = {d[DEVICE_TYPE] for d in devices}
        assert {"CHF", "ESME", "GSME", "GPF", "IHD", "PPMID"} <= types
