from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from meterhub.gateway.catalogue import (
    FutureDatedPattern,
    SrvCatalogue,
    data_path,
    load_catalogue,
)
from meterhub.gateway.codes import (
    CODE_FOR_STAGE,
    MEANINGS,
    VALIDATION_ORDER,
    DuisRejected,
    ResponseCode,
    ValidationStage,
    srv_specific_code,
)

_PATTERNS = {
    "No": FutureDatedPattern.NONE,
    "DSP": FutureDatedPattern.DSP,
    "Device": FutureDatedPattern.DEVICE,
    "DSP & Device": FutureDatedPattern.DSP_AND_DEVICE,
}


def _words(text: str) -> str:
    return " ".join(text.split())


class TestSrvCatalogueAgainstDuis:
    """The shipped catalogue says what DUIS 5.4 says (shared/duis when present)."""

    def test_same_srvs_names_flags_and_roles_as_the_published_csv(self, duis_dir: Path) -> None:
        catalogue = load_catalogue()
        with (duis_dir / "srv-catalogue.csv").open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 129
        assert sorted(s.srv for s in catalogue.all()) == sorted(r["SRV"] for r in rows)
        for row in rows:
            srv = catalogue.get(row["SRV"])
            assert srv is not None
            # The published CSV writes SR 6.20 as "6.2" (a number-formatting slip); the SRV
            # and the real request samples say 6.20.
            published_sr = "6.20" if row["SRV"].startswith("6.20.") else row["SR"]
            assert srv.service_reference == published_sr
            assert srv.name == _words(row["Name"])
            assert srv.critical is (row["Critical"] == "Yes")
            assert srv.on_demand is (row["OnDemand"] == "Yes")
            assert srv.future_dated_pattern is _PATTERNS[row["FutureDatedPattern"]]
            assert srv.dcc_scheduled is (row["DCCScheduled"] == "Yes")
            assert srv.non_device is (row["NonDevice"] == "Yes")
            assert srv.eligible_roles == frozenset(row["Roles"].split()), row["SRV"]

    def test_roles_match_the_published_matrix(self, duis_dir: Path) -> None:
        catalogue = load_catalogue()
        matrix = json.loads((duis_dir / "srv-matrix.json").read_text(encoding="utf-8"))
        assert len(matrix) == len(catalogue)
        for entry in matrix:
            srv = catalogue.get(entry["Service Reference Variant"])
            assert srv is not None
            assert srv.eligible_roles == frozenset(entry["Eligible User Roles"])
            assert srv.name == _words(entry["Service Request Name"])

    def test_command_variants_match_the_samples(self, duis_dir: Path) -> None:
        from meterhub.gateway.xml import parse_request

        catalogue = load_catalogue()
        for path in sorted((duis_dir / "requests").iterdir()):
            request = parse_request(path.read_bytes())
            srv = catalogue.get(request.srv)
            assert srv is not None, path.name
            assert request.command_variant in srv.command_variants, path.name


class TestSrvCatalogue:
    def test_lookup_of_a_known_and_an_unknown_srv(self) -> None:
        catalogue = load_catalogue()
        fault_return = catalogue.get("8.14.3")
        assert fault_return is not None
        assert fault_return.service_reference == "8.14"
        assert fault_return.non_device and not fault_return.critical
        assert catalogue.get("99.1") is None
        assert catalogue.eligible_roles("99.1", date(2024, 1, 1)) == frozenset()

    def test_catalogue_is_loaded_once(self) -> None:
        assert load_catalogue() is load_catalogue()

    def test_data_files_ship_inside_the_package(self) -> None:
        assert data_path("srv_catalogue.json").is_file()
        assert data_path("srv_overlays.json").is_file()


class TestSecmp0039Overlay:
    """From SECMP0039's effective date an RSA may return hubs (8.14.3/8.14.4) for its supplier."""

    def test_rsa_not_eligible_the_day_before(self) -> None:
        catalogue = load_catalogue()
        day_before = date(2023, 11, 1)
        assert catalogue.eligible_roles("8.14.3", day_before) == {"IS", "GS"}
        assert not catalogue.needs_appointment("8.14.3", "RSA", day_before)

    @pytest.mark.parametrize("srv", ["8.14.3", "8.14.4"])
    def test_rsa_eligible_from_the_effective_date_only_on_behalf_of_a_supplier(
        self, srv: str
    ) -> None:
        catalogue = load_catalogue()
        day = date(2023, 11, 2)
        assert catalogue.eligible_roles(srv, day) == {"IS", "GS", "RSA"}
        assert catalogue.needs_appointment(srv, "RSA", day)
        assert not catalogue.needs_appointment(srv, "IS", day)

    def test_other_hub_updates_are_unchanged(self) -> None:
        catalogue = load_catalogue()
        day = date(2025, 1, 1)
        assert "RSA" not in catalogue.eligible_roles("8.14.1", day)
        assert not catalogue.needs_appointment("8.14.1", "RSA", day)

    def test_effective_date_is_configurable(self) -> None:
        catalogue = SrvCatalogue.from_files(
            data_path("srv_catalogue.json"),
            data_path("srv_overlays.json"),
            effective_from={"SECMP0039": date(2030, 1, 1)},
        )
        assert "RSA" not in catalogue.eligible_roles("8.14.3", date(2029, 12, 31))
        assert "RSA" in catalogue.eligible_roles("8.14.3", date(2030, 1, 1))

    def test_overlay_can_end(self, tmp_path: Path) -> None:
        overlays = tmp_path / "overlays.json"
        overlays.write_text(
            json.dumps(
                {
                    "overlays": [
                        {
                            "modification": "TEST1",
                            "effective_from": "2024-01-01",
                            "effective_to": "2024-02-01",
                            "changes": [{"srv": "11.1", "add_roles": ["RSA"]}],
                        }
                    ]
                }
            ),
            encoding="utf-8",
        )
        catalogue = SrvCatalogue.from_files(data_path("srv_catalogue.json"), overlays)
        assert catalogue.eligible_roles("11.1", date(2024, 1, 15)) == {"IS", "GS", "RSA"}
        assert not catalogue.needs_appointment("11.1", "RSA", date(2024, 1, 15))
        assert catalogue.eligible_roles("11.1", date(2024, 2, 1)) == {"IS", "GS"}

    def test_overlay_naming_an_unknown_srv_is_refused(self, tmp_path: Path) -> None:
        overlays = tmp_path / "overlays.json"
        overlays.write_text(
            json.dumps(
                {
                    "overlays": [
                        {
                            "modification": "BAD",
                            "effective_from": "2024-01-01",
                            "changes": [{"srv": "99.9", "add_roles": ["RSA"]}],
                        }
                    ]
                }
            ),
            encoding="utf-8",
        )
        with pytest.raises(ValueError, match="unknown SRV"):
            SrvCatalogue.from_files(data_path("srv_catalogue.json"), overlays)


class TestResponseCodes:
    def test_every_code_is_in_the_schema_enumeration(self, duis_dir: Path) -> None:
        schema = (duis_dir / "schema" / "DUIS_Schema_V5.4.xsd").read_text(encoding="utf-8")
        start = schema.index('<xs:simpleType name="ResponseCode">')
        enumeration = schema[start : schema.index("</xs:simpleType>", start)]
        for code in ResponseCode:
            assert f'value="{code}"' in enumeration, code
        assert f'value="{srv_specific_code("8.14", 1)}"' in enumeration

    def test_every_code_has_a_meaning(self) -> None:
        assert set(MEANINGS) == set(ResponseCode)

    def test_validation_order_answers_with_the_documented_codes(self) -> None:
        assert VALIDATION_ORDER[0] is ValidationStage.MALFORMED
        assert VALIDATION_ORDER.index(ValidationStage.UNKNOWN_DEVICE) < VALIDATION_ORDER.index(
            ValidationStage.NOT_ENTITLED
        )
        assert CODE_FOR_STAGE[ValidationStage.UNKNOWN_SENDER] == "E1"
        assert CODE_FOR_STAGE[ValidationStage.ROLE_NOT_ELIGIBLE] == "E2"
        assert CODE_FOR_STAGE[ValidationStage.NOT_ENTITLED] == "E4"
        assert CODE_FOR_STAGE[ValidationStage.DEVICE_STATUS_DISALLOWS] == "E5"
        assert CODE_FOR_STAGE[ValidationStage.UNKNOWN_DEVICE] == "E19"
        assert CODE_FOR_STAGE[ValidationStage.MALFORMED] == "E65"
        assert set(CODE_FOR_STAGE) == set(ValidationStage)

    def test_rejection_carries_code_and_request_id(self) -> None:
        refused = DuisRejected.at_stage(
            ValidationStage.ROLE_NOT_ELIGIBLE, "OU may not send 8.14.3", "AA-..."
        )
        assert refused.response_code == "E2"
        assert refused.request_id == "AA-..."
        assert refused.code == "duis_rejected" and refused.status == 400

    def test_srv_specific_code_shape(self) -> None:
        assert srv_specific_code("8.14", 1) == "E081401"
        assert srv_specific_code("11.1", 5) == "E110105"
        with pytest.raises(ValueError):
            srv_specific_code("8.14.3", 1)
