"""The MP176 report suite, as a registry of definitions (``reporting/definitions.py``).

Four reports (MP176 Modification Report, section 3, and its Annex D guidance):

* **inventory** (suppliers and network operators, month-end snapshot): volumes by device type,
  model and firmware; per model the recipient's firmware mix against the industry and anonymised
  peers; a data file of all the recipient's own devices;
* **business_process** (every user role): for the MP176 table of processes and SRVs, monthly
  success/failure against anonymised peers, monthly RTT best/worst/mean/median against the
  industry, a daily breakdown by meter type, CSP region and SMETS version with Category 1 and 2
  incidents counted, every failure by reason code with its signifiers, and the derived measures
  of the MP176 table (no read within 30 days of 8.14.1; installs against the supplier's predicted
  volume; 8.14.1 against 8.14.2; a read in the 30 days before a change-of-supplier gain; whether
  the old supplier sent 8.14.1/8.14.2);
* **alerts**: daily and monthly delivery against the industry; for network operators N13/N55 by
  meter type, model and firmware, N42 within seven days of N16 by supplier, and power outage
  alerts (AD1) with no restoration alert (0x8F35);
* **league_tables**: each party's success rate per process, ranked within its user role.

A request's outcome is its last row in the lake: ``refused`` (an E code at validation) or
``response`` (``I0`` success, else a failure with its reason); it counts in the month of that
row. RTTs are those of successful responses. Changing what a definition means is a new version.
"""

from __future__ import annotations

from typing import Final

import ibis
import ibis.expr.types as ir

from meterhub.lake.schema import PROCESSES
from meterhub.parties.roles import NETWORK_ROLES, SUPPLIER_ROLES
from meterhub.reporting.definitions import (
    Definition,
    Finish,
    Measure,
    Period,
    Registry,
    Sources,
)

#: An alert counts as delivered successfully when it reaches the user within this time.
ALERT_DELIVERY_TARGET_MS: Final = 60_000
#: MP176: N42 is due within the seven-day service level after N16.
N42_SERVICE_LEVEL_DAYS: Final = 7
#: A meter read is expected within 30 days of an install (8.14.1) and wanted in the 30 days
#: before a change-of-supplier gain.
READ_WINDOW_DAYS: Final = 30
#: How far back to look for the old supplier's 8.14.1/8.14.2 before a gain.
OLD_SUPPLIER_LOOKBACK_DAYS: Final = 90
#: Power restoration alerts are looked for up to this many days after the outage alert.
RESTORATION_LOOKAHEAD_DAYS: Final = 7
INVENTORY_ROLES: Final = (*SUPPLIER_ROLES, *NETWORK_ROLES)
ALL_PROCESSES: Final = tuple(PROCESSES)


# ---- facts ---------------------------------------------------------------------------------

_KEEP: Final = ["event_id", "party", "role"]


def _owned(t: ir.Table) -> ir.Table:
    return t.mutate(party=t.originator_party, role=t.originator_role)


def outcomes(src: Sources, period: Period, *, whole_window: bool = False) -> ir.Table:
    """One row per service request, its outcome: refused at validation or the response."""
    e = src.events
    t = e.filter(e.kind.isin(["refused", "response"]))
    if not whole_window:
        t = t.filter(period.contains(t.day))
    return _owned(t).mutate(success=t.response_code == "I0")


def _successful(src: Sources, period: Period, srvs: list[str]) -> ir.Table:
    t = outcomes(src, period)
    return t.filter(t.success & t.srv.isin(srvs))


def _successful_reads(src: Sources, period: Period) -> ir.Table:
    t = outcomes(src, period, whole_window=True)
    return t.filter(t.success & (t.process == "reads") & t.mpxn.notnull())


def _flagged(
    rows: ir.Table, other: ir.Table, on: list[ir.BooleanValue], keep: list[str], flag: str
) -> ir.Table:
    """``rows`` (only the ``keep`` columns) with ``flag`` = 1 where a row of ``other`` matches
    ``on``, else 0: a semi-join and an anti-join, which both engines run as such."""
    matched = rows.semi_join(other, on).select(*keep).mutate(**{flag: ibis.literal(1)})
    unmatched = rows.anti_join(other, on).select(*keep).mutate(**{flag: ibis.literal(0)})
    return matched.union(unmatched)


def alerts(src: Sources, period: Period, codes: list[str] | None = None) -> ir.Table:
    """Alert rows of the month, owned by the party they were delivered to."""
    e = src.events
    t = e.filter((e.kind == "alert") & period.contains(e.day))
    if codes is not None:
        t = t.filter(t.alert_code.isin(codes))
    return _owned(t).mutate(on_time=t.rtt_ms <= ALERT_DELIVERY_TARGET_MS)


def devices(src: Sources, period: Period) -> ir.Table:
    return src.devices


def installs_with_read(src: Sources, period: Period) -> ir.Table:
    """Successful 8.14.1 installs, flagged when a successful read of the same meter point
    followed within 30 days (MP176: "no meter read received within 30 days of 8.14.1")."""
    installs = _successful(src, period, ["8.14.1"]).filter(lambda t: t.mpxn.notnull())
    reads = _successful_reads(src, period).view()
    on = [
        installs.mpxn == reads.mpxn,
        reads.event_time > installs.event_time,
        reads.event_time <= installs.event_time + ibis.interval(days=READ_WINDOW_DAYS),
    ]
    return _flagged(installs, reads, on, _KEEP, "read_within_30_days")


def installs_and_forecasts(src: Sources, period: Period) -> ir.Table:
    """Successful 8.14.1 of the month sent in a supplier role (``installs`` = 1 each) and the
    suppliers' forecasts for the month (``forecast`` = the predicted volume), by CSP region:
    one table, so a supplier with installs and no forecast, or the reverse, still has a row."""
    done = _successful(src, period, ["8.14.1"])
    done = done.filter(done.role.isin(list(SUPPLIER_ROLES)))
    one, zero = ibis.literal(1).cast("int64"), ibis.literal(0).cast("int64")
    installed = done.select(
        party=done.party, role=done.role, csp_region=done.csp_region, installs=one, forecast=zero
    )
    f = src.forecasts
    f = f.filter(f.month == period.label)
    predicted = f.select(
        party=f.party,
        role=f.role,
        csp_region=f.csp_region,
        installs=zero,
        forecast=f.installs.cast("int64"),
    )
    return installed.union(predicted)


def gains_with_read_before(src: Sources, period: Period) -> ir.Table:
    """Successful 6.23 change-of-supplier credential updates (the gain), flagged when the meter
    point had a successful read in the 30 days before."""
    gains = _successful(src, period, ["6.23"]).filter(lambda t: t.mpxn.notnull())
    reads = _successful_reads(src, period).view()
    on = [
        gains.mpxn == reads.mpxn,
        reads.event_time < gains.event_time,
        reads.event_time >= gains.event_time - ibis.interval(days=READ_WINDOW_DAYS),
    ]
    return _flagged(gains, reads, on, _KEEP, "read_before_gain")


def gains_with_old_supplier_install(src: Sources, period: Period) -> ir.Table:
    """Successful 6.23 gains, flagged when another party (the old supplier) had a successful
    8.14.1 or 8.14.2 for the same meter point in the 90 days before."""
    gains = _successful(src, period, ["6.23"]).filter(lambda t: t.mpxn.notnull())
    hubs = outcomes(src, period, whole_window=True)
    hubs = hubs.filter(hubs.success & hubs.srv.isin(["8.14.1", "8.14.2"])).view()
    on = [
        gains.mpxn == hubs.mpxn,
        hubs.party != gains.party,
        hubs.event_time < gains.event_time,
        hubs.event_time >= gains.event_time - ibis.interval(days=OLD_SUPPLIER_LOOKBACK_DAYS),
    ]
    return _flagged(gains, hubs, on, _KEEP, "old_supplier_sent_8_14")


def n16_with_n42(src: Sources, period: Period) -> ir.Table:
    """N16 alerts of the month to a network operator, with the supplier whose 8.1.1 commission
    raised it, flagged when an N42 for the same device arrived within seven days after."""
    n16 = alerts(src, period, ["N16"])
    n16 = n16.filter(n16.role.isin(list(NETWORK_ROLES)))
    e = src.events.view()
    received = e.filter(e.kind == "received").select(
        trigger=e.request_id, supplier=e.originator_party
    )
    n16 = n16.left_join(received, n16.request_id == received.trigger).select(
        "event_id", "party", "role", "device_id", "event_time", "supplier"
    )
    e42 = src.events.view()
    n42 = e42.filter((e42.kind == "alert") & (e42.alert_code == "N42"))
    on = [
        n16.device_id == n42.device_id,
        n42.event_time > n16.event_time,
        n42.event_time <= n16.event_time + ibis.interval(days=N42_SERVICE_LEVEL_DAYS),
    ]
    return _flagged(n16, n42, on, [*_KEEP, "supplier"], "n42_within_7_days")


def _outage_alerts(
    src: Sources, period: Period
) -> tuple[ir.Table, ir.Table, list[ir.BooleanValue]]:
    ad1 = alerts(src, period, ["AD1"])
    ad1 = ad1.filter(ad1.role.isin(list(NETWORK_ROLES)))
    e = src.events.view()
    restored = e.filter((e.kind == "alert") & (e.alert_code == "0x8F35"))
    on = [restored.device_id == ad1.device_id, restored.event_time > ad1.event_time]
    return ad1, restored, on


def outages_with_restoration(src: Sources, period: Period) -> ir.Table:
    """Power outage alerts (AD1), flagged when the same meter later sent 0x8F35 (restored)."""
    ad1, restored, on = _outage_alerts(src, period)
    return _flagged(ad1, restored, on, [*_KEEP, "csp_region"], "restored")


def unrestored_outages(src: Sources, period: Period) -> ir.Table:
    """The network operator's own AD1 alerts with no later 0x8F35 from the meter: a data file."""
    ad1, restored, on = _outage_alerts(src, period)
    open_ = ad1.anti_join(restored, on)
    return open_.mutate(outage_alert_time=open_.event_time)


# ---- measures ------------------------------------------------------------------------------


def count_if(condition: ir.BooleanValue) -> ir.IntegerValue:
    """Rows where ``condition`` holds; a null condition counts as not holding. Written as a sum
    of 1/0 because ``count(where=...)`` over a null condition gives 0 on DuckDB but null on Spark
    (found by the engine-agreement test)."""
    return ibis.ifelse(condition.fill_null(False), 1, 0).sum()


def _count(name: str, title: str) -> Measure:
    return Measure(name, title, lambda t: t.count())


def _sum(name: str, title: str, column: str) -> Measure:
    return Measure(name, title, lambda t: t[column].sum())


def _rate(name: str, title: str) -> Measure:
    return Measure(name, title, decimals=4)


REQUESTS = _count("requests", "Service requests")
SUCCESSES = Measure("successes", "Successful", lambda t: count_if(t.success))
FAILURES = Measure("failures", "Failed", lambda t: count_if(~t.success))
SUCCESS_RATE = _rate("success_rate", "Success rate")
FAILURE_RATE = _rate("failure_rate", "Failure rate")


def _success_rates(t: ir.Table, owner: tuple[str, ...]) -> ir.Table:
    return t.mutate(success_rate=t.successes / t.requests, failure_rate=t.failures / t.requests)


def _ratio(numerator: str, denominator: str, name: str) -> Finish:
    def finish(t: ir.Table, owner: tuple[str, ...]) -> ir.Table:
        return t.mutate(**{name: t[numerator] / t[denominator]})

    return finish


def _against_forecast(t: ir.Table, owner: tuple[str, ...]) -> ir.Table:
    """Installs minus forecast, and installs per forecast install (empty with no forecast)."""
    return t.mutate(
        difference=t.installs - t.forecast,
        installs_to_forecast_ratio=ibis.ifelse(
            t.forecast > 0, t.installs / t.forecast, ibis.null().cast("float64")
        ),
    )


FORECAST_MEASURES: Final = (
    _sum("installs", "Installs (8.14.1)", "installs"),
    _sum("forecast", "Predicted installs", "forecast"),
    Measure("difference", "Installs minus predicted"),
    Measure("installs_to_forecast_ratio", "Installs / predicted", decimals=4),
)


def _successful_rtt(t: ir.Table) -> ir.BooleanValue:
    return t.success & (t.kind == "response") & t.rtt_ms.notnull()


def _on_time_rate(t: ir.Table, owner: tuple[str, ...]) -> ir.Table:
    return t.mutate(on_time_rate=t.on_time / t.alerts)


ALERT_MEASURES: Final = (
    _count("alerts", "Alerts delivered"),
    Measure("on_time", "Delivered within target", lambda t: count_if(t.on_time)),
    _rate("on_time_rate", "Delivered within target (share)"),
    Measure("mean_delivery_ms", "Mean delivery time (ms)", lambda t: t.rtt_ms.mean(), 1),
    Measure("median_delivery_ms", "Median delivery time (ms)", lambda t: t.rtt_ms.median(), 1),
    Measure("worst_delivery_ms", "Worst delivery time (ms)", lambda t: t.rtt_ms.max()),
)


def _firmware_share(t: ir.Table, owner: tuple[str, ...]) -> ir.Table:
    """Each firmware's share of the owner's devices of that model (party or industry)."""
    w = ibis.window(group_by=[*owner, "device_type", "model"])
    return t.mutate(share_of_model=t.devices / t.devices.sum().over(w))


def _league_position(t: ir.Table, owner: tuple[str, ...]) -> ir.Table:
    """Rank 1 = best success rate among the parties of the same role, for the process."""
    t = t.mutate(success_rate=t.successes / t.requests)
    if "party" not in owner:
        return t.mutate(position=ibis.null().cast("int64"))
    w = ibis.window(group_by=["role", "process"], order_by=ibis.desc(t.success_rate))
    return t.mutate(position=(ibis.rank().over(w) + 1).cast("int64"))


# ---- the suite -----------------------------------------------------------------------------

SUITE: Final = Registry(
    [
        # -- inventory --
        Definition(
            id="inventory.volumes",
            version=1,
            report="inventory",
            title="Devices by type, model and firmware",
            description="Devices the recipient is responsible for at the end of the month "
            "(registered supplier or network operator of the meter point; a hub with none, the "
            "party holding it), counted by device type, model and firmware version, beside the "
            "industry total for the same user role. Withdrawn and decommissioned devices are "
            "not counted.",
            grain="snapshot",
            dimensions=("device_type", "model", "firmware_version"),
            measures=(_count("devices", "Devices"),),
            disclosure="versus_industry",
            facts=devices,
            recipient_roles=INVENTORY_ROLES,
            source="devices",
        ),
        Definition(
            id="inventory.firmware_mix",
            version=1,
            report="inventory",
            title="Firmware mix per model against the industry and peers",
            description="For each device model, the share of the recipient's devices on each "
            "firmware version, against the industry share and each anonymised peer's share.",
            grain="snapshot",
            dimensions=("device_type", "model", "firmware_version"),
            measures=(
                _count("devices", "Devices"),
                Measure("share_of_model", "Share of the model's devices", decimals=4),
            ),
            disclosure="benchmark",
            facts=devices,
            finish=_firmware_share,
            recipient_roles=INVENTORY_ROLES,
            source="devices",
        ),
        Definition(
            id="inventory.devices",
            version=1,
            report="inventory",
            title="All your devices",
            description="Every device the recipient is responsible for at the end of the "
            "month, with its attributes. Never includes another party's devices.",
            grain="snapshot",
            dimensions=(
                "device_id",
                "device_type",
                "manufacturer",
                "model",
                "firmware_version",
                "smets_version",
                "csp_region",
                "status",
                "mpxn",
            ),
            measures=(),
            disclosure="own",
            facts=devices,
            recipient_roles=INVENTORY_ROLES,
            source="devices",
        ),
        # -- business process --
        Definition(
            id="business_process.process_success",
            version=1,
            report="business_process",
            title="Monthly success and failure by business process",
            description="Service requests whose outcome (refusal or response) fell in the "
            "month, per MP176 business process; success is response code I0; a refusal at "
            "validation is a failure. Against the industry and anonymised peers of the role.",
            grain="month",
            dimensions=("process",),
            measures=(REQUESTS, SUCCESSES, FAILURES, SUCCESS_RATE, FAILURE_RATE),
            disclosure="benchmark",
            facts=outcomes,
            finish=_success_rates,
            srv_groups=ALL_PROCESSES,
        ),
        Definition(
            id="business_process.srv_success",
            version=1,
            report="business_process",
            title="Monthly success and failure by process and SRV",
            description="As the process view, for each SRV row of the MP176 table: an SRV sent "
            "as a step of a journey (1.1.1 during change of supplier) counts in that journey's "
            "process.",
            grain="month",
            dimensions=("process", "srv"),
            measures=(REQUESTS, SUCCESSES, FAILURES, SUCCESS_RATE, FAILURE_RATE),
            disclosure="benchmark",
            facts=outcomes,
            finish=_success_rates,
            srv_groups=ALL_PROCESSES,
        ),
        Definition(
            id="business_process.rtt",
            version=1,
            report="business_process",
            title="Monthly round-trip times by process and SRV",
            description="Round-trip time (the hub receiving the request to the response) of "
            "successful responses: best, worst, mean and median, against the same at industry "
            "level for the role. Median is the interpolated 50th percentile.",
            grain="month",
            dimensions=("process", "srv"),
            measures=(
                Measure("responses", "Successful responses", lambda t: t.count()),
                Measure("best_ms", "Best RTT (ms)", lambda t: t.rtt_ms.min()),
                Measure("worst_ms", "Worst RTT (ms)", lambda t: t.rtt_ms.max()),
                Measure("mean_ms", "Mean RTT (ms)", lambda t: t.rtt_ms.mean(), 1),
                Measure("median_ms", "Median RTT (ms)", lambda t: t.rtt_ms.median(), 1),
            ),
            disclosure="versus_industry",
            facts=lambda src, period: outcomes(src, period).filter(_successful_rtt),
            srv_groups=ALL_PROCESSES,
        ),
        Definition(
            id="business_process.daily_breakdown",
            version=1,
            report="business_process",
            title="Daily success and RTT by meter type, CSP region and SMETS version",
            description="Per day and process, split by device type, CSP region and SMETS "
            "version: requests, success rate and mean RTT of successes, and how many requests "
            "met a Category 1 or Category 2 incident at the CSP, against the industry.",
            grain="day",
            dimensions=("process", "device_type", "csp_region", "smets_version"),
            measures=(
                REQUESTS,
                SUCCESSES,
                FAILURES,
                SUCCESS_RATE,
                FAILURE_RATE,
                Measure(
                    "mean_rtt_ms",
                    "Mean RTT of successes (ms)",
                    lambda t: t.rtt_ms.mean(where=_successful_rtt(t)),
                    1,
                ),
                Measure(
                    "category_1_requests",
                    "Requests in a Category 1 incident",
                    lambda t: count_if(t.category == 1),
                ),
                Measure(
                    "category_2_requests",
                    "Requests in a Category 2 incident",
                    lambda t: count_if(t.category == 2),
                ),
            ),
            disclosure="versus_industry",
            facts=outcomes,
            finish=_success_rates,
            srv_groups=ALL_PROCESSES,
        ),
        Definition(
            id="business_process.failures_by_reason",
            version=1,
            report="business_process",
            title="Every failure by reason code and signifiers",
            description="The recipient's failed requests of the month by response code and "
            "root cause, with device type, model, firmware, CSP region, SMETS version and "
            "incident category, to find common themes.",
            grain="month",
            dimensions=(
                "process",
                "srv",
                "response_code",
                "failure_reason",
                "device_type",
                "model",
                "firmware_version",
                "csp_region",
                "smets_version",
                "category",
            ),
            measures=(_count("failures", "Failures"),),
            disclosure="own",
            facts=lambda src, period: outcomes(src, period).filter(lambda t: ~t.success),
            srv_groups=ALL_PROCESSES,
        ),
        Definition(
            id="business_process.install_no_read_30_days",
            version=1,
            report="business_process",
            title="Installs (8.14.1) with no meter read within 30 days",
            description="Successful 8.14.1 of the month whose meter point had no successful "
            "read (any Meter Reads or Read Registers SRV, any sender) within 30 days after. "
            "Installs late in the month are judged on what the lake holds when the run is made.",
            grain="month",
            dimensions=(),
            measures=(
                _count("installs", "Installs (8.14.1)"),
                Measure(
                    "without_read_30_days",
                    "No read within 30 days",
                    lambda t: count_if(t.read_within_30_days == 0),
                ),
                _rate("without_read_share", "Share with no read"),
            ),
            disclosure="benchmark",
            facts=installs_with_read,
            finish=_ratio("without_read_30_days", "installs", "without_read_share"),
            srv_groups=("install_commission",),
            lookahead_days=READ_WINDOW_DAYS,
        ),
        Definition(
            id="business_process.installs_vs_forecast",
            version=1,
            report="business_process",
            title="Installs (8.14.1) against the predicted volume",
            description="Successful 8.14.1 sent in the month in a supplier role, against the "
            "installs the supplier predicted for the month (its forecasts, per CSP region, as "
            "in force when the month began): the difference and the ratio (1 = as predicted; "
            "empty with no forecast). Against the industry of the role and anonymised peers.",
            grain="month",
            dimensions=(),
            measures=FORECAST_MEASURES,
            disclosure="benchmark",
            facts=installs_and_forecasts,
            finish=_against_forecast,
            srv_groups=("install_commission",),
            recipient_roles=SUPPLIER_ROLES,
            source="forecasts",
        ),
        Definition(
            id="business_process.installs_vs_forecast_by_region",
            version=1,
            report="business_process",
            title="Installs (8.14.1) against the predicted volume, by CSP region",
            description="As the monthly view, per CSP region of the communications hub: where "
            "the installs fell short of, or ran ahead of, the prediction. Against the industry "
            "of the role.",
            grain="month",
            dimensions=("csp_region",),
            measures=FORECAST_MEASURES,
            disclosure="versus_industry",
            facts=installs_and_forecasts,
            finish=_against_forecast,
            srv_groups=("install_commission",),
            recipient_roles=SUPPLIER_ROLES,
            source="forecasts",
        ),
        Definition(
            id="business_process.install_and_leave",
            version=1,
            report="business_process",
            title="Daily installs: Install and Commission (8.14.1) against Install and Leave "
            "(8.14.2)",
            description="Successful 8.14.1 and 8.14.2 per day, and the share that were "
            "install-and-leave (no SM WAN), against the industry.",
            grain="day",
            dimensions=(),
            measures=(
                Measure(
                    "install_and_commission",
                    "8.14.1",
                    lambda t: count_if(t.srv == "8.14.1"),
                ),
                Measure("install_and_leave", "8.14.2", lambda t: count_if(t.srv == "8.14.2")),
                _rate("leave_share", "Share install and leave"),
            ),
            disclosure="versus_industry",
            facts=lambda src, period: _successful(src, period, ["8.14.1", "8.14.2"]),
            finish=lambda t, owner: t.mutate(
                leave_share=t.install_and_leave / (t.install_and_commission + t.install_and_leave)
            ),
            srv_groups=("install_commission",),
        ),
        Definition(
            id="business_process.cos_read_before_gain",
            version=1,
            report="business_process",
            title="Change of supplier gains with a read in the 30 days before",
            description="Successful 6.23 (the gaining supplier's credential update) of the "
            "month, and how many had a successful read of the meter point in the 30 days before.",
            grain="month",
            dimensions=(),
            measures=(
                _count("gains", "Gains (6.23)"),
                _sum("with_read_before", "Read in the 30 days before", "read_before_gain"),
                _rate("with_read_share", "Share with a read"),
            ),
            disclosure="benchmark",
            facts=gains_with_read_before,
            finish=_ratio("with_read_before", "gains", "with_read_share"),
            srv_groups=("change_of_supplier",),
            lookback_days=READ_WINDOW_DAYS,
        ),
        Definition(
            id="business_process.cos_old_supplier_install",
            version=1,
            report="business_process",
            title="Change of supplier gains where the old supplier sent 8.14.1 or 8.14.2",
            description="Successful 6.23 of the month, and how many meter points had a "
            "successful 8.14.1 or 8.14.2 from another party in the 90 days before the gain.",
            grain="month",
            dimensions=(),
            measures=(
                _count("gains", "Gains (6.23)"),
                _sum(
                    "old_supplier_sent_8_14",
                    "Old supplier sent 8.14.1/8.14.2",
                    "old_supplier_sent_8_14",
                ),
                _rate("old_supplier_share", "Share"),
            ),
            disclosure="benchmark",
            facts=gains_with_old_supplier_install,
            finish=_ratio("old_supplier_sent_8_14", "gains", "old_supplier_share"),
            srv_groups=("change_of_supplier", "install_commission"),
            lookback_days=OLD_SUPPLIER_LOOKBACK_DAYS,
        ),
        # -- alerts --
        Definition(
            id="alerts.delivery_daily",
            version=1,
            report="alerts",
            title="Daily alert delivery by alert code",
            description="Alerts delivered to the recipient per day and alert code: how many, "
            f"the share delivered within {ALERT_DELIVERY_TARGET_MS // 1000} seconds, and "
            "delivery times, against the industry.",
            grain="day",
            dimensions=("alert_code",),
            measures=ALERT_MEASURES,
            disclosure="versus_industry",
            facts=lambda src, period: alerts(src, period),
            finish=_on_time_rate,
        ),
        Definition(
            id="alerts.delivery_monthly",
            version=1,
            report="alerts",
            title="Monthly alert delivery by alert code",
            description="As the daily view over the month, against the industry and anonymised "
            "peers of the role.",
            grain="month",
            dimensions=("alert_code",),
            measures=ALERT_MEASURES,
            disclosure="benchmark",
            facts=lambda src, period: alerts(src, period),
            finish=_on_time_rate,
        ),
        Definition(
            id="alerts.n13_n55_by_device",
            version=1,
            report="alerts",
            title="N13 and N55 by meter type, model and firmware",
            description="N13 (failure to receive a response from the device) and N55 (S1SP "
            "validation failure) delivered to network operators, by device type, model and "
            "firmware, against the industry of network operators.",
            grain="month",
            dimensions=("alert_code", "device_type", "model", "firmware_version"),
            measures=(_count("alerts", "Alerts"),),
            disclosure="versus_industry",
            facts=lambda src, period: alerts(src, period, ["N13", "N55"]).filter(
                lambda t: t.role.isin(list(NETWORK_ROLES))
            ),
            recipient_roles=NETWORK_ROLES,
        ),
        Definition(
            id="alerts.n42_after_n16",
            version=1,
            report="alerts",
            title="N42 within seven days of N16",
            description="N16 (device identity confirmation) alerts of the month and how many "
            "were followed by an N42 (security credentials updated on the device) for the same "
            "device within seven days, against the industry of network operators.",
            grain="month",
            dimensions=(),
            measures=(
                _count("n16_alerts", "N16 alerts"),
                _sum("n42_within_7_days", "N42 within 7 days", "n42_within_7_days"),
                _rate("within_7_days_share", "Share within 7 days"),
            ),
            disclosure="versus_industry",
            facts=n16_with_n42,
            finish=_ratio("n42_within_7_days", "n16_alerts", "within_7_days_share"),
            recipient_roles=NETWORK_ROLES,
            srv_groups=("install_commission",),
            lookahead_days=N42_SERVICE_LEVEL_DAYS,
        ),
        Definition(
            id="alerts.n42_after_n16_by_supplier",
            version=1,
            report="alerts",
            title="N42 within seven days of N16, by energy supplier",
            description="The recipient's N16 alerts split by the supplier whose commission "
            "(8.1.1) raised them; suppliers are shown by anonymised labels.",
            grain="month",
            dimensions=("supplier",),
            measures=(
                _count("n16_alerts", "N16 alerts"),
                _sum("n42_within_7_days", "N42 within 7 days", "n42_within_7_days"),
                _rate("within_7_days_share", "Share within 7 days"),
            ),
            disclosure="own",
            facts=n16_with_n42,
            finish=_ratio("n42_within_7_days", "n16_alerts", "within_7_days_share"),
            recipient_roles=NETWORK_ROLES,
            party_columns=("supplier",),
            srv_groups=("install_commission",),
            lookahead_days=N42_SERVICE_LEVEL_DAYS,
        ),
        Definition(
            id="alerts.power_outages",
            version=1,
            report="alerts",
            title="Power outage alerts and restorations",
            description="Power outage alerts (AD1) of the month by CSP region and how many had "
            f"no later supply-restored alert (0x8F35) from the meter (looked for up to "
            f"{RESTORATION_LOOKAHEAD_DAYS} days after the month), against the industry.",
            grain="month",
            dimensions=("csp_region",),
            measures=(
                _count("outage_alerts", "AD1 alerts"),
                Measure(
                    "unrestored",
                    "No restoration alert",
                    lambda t: count_if(t.restored == 0),
                ),
                _rate("unrestored_share", "Share with no restoration alert"),
            ),
            disclosure="versus_industry",
            facts=outages_with_restoration,
            finish=_ratio("unrestored", "outage_alerts", "unrestored_share"),
            recipient_roles=("ED",),
            lookahead_days=RESTORATION_LOOKAHEAD_DAYS,
        ),
        Definition(
            id="alerts.unrestored_outages",
            version=1,
            report="alerts",
            title="Power outage alerts with no restoration alert",
            description="Each of the recipient's AD1 alerts of the month with no later 0x8F35 "
            "from the same meter: a data file.",
            grain="month",
            dimensions=(
                "outage_alert_time",
                "device_id",
                "mpxn",
                "csp_region",
                "device_type",
                "model",
                "firmware_version",
            ),
            measures=(),
            disclosure="own",
            facts=unrestored_outages,
            recipient_roles=("ED",),
            lookahead_days=RESTORATION_LOOKAHEAD_DAYS,
        ),
        # -- league tables --
        Definition(
            id="league_tables.process_success",
            version=1,
            report="league_tables",
            title="League table: success rate per business process",
            description="Every party of the role ranked by its monthly success rate for each "
            "process (1 = best; equal rates share a position). The recipient sees its own row "
            "named and every other party anonymised.",
            grain="month",
            dimensions=("process",),
            measures=(
                REQUESTS,
                SUCCESSES,
                SUCCESS_RATE,
                Measure(
                    "mean_rtt_ms",
                    "Mean RTT of successes (ms)",
                    lambda t: t.rtt_ms.mean(where=_successful_rtt(t)),
                    1,
                ),
                Measure("position", "Position"),
            ),
            disclosure="league",
            facts=outcomes,
            finish=_league_position,
            srv_groups=ALL_PROCESSES,
        ),
    ]
)
