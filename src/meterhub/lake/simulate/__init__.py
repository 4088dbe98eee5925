"""National-shaped DUIS traffic, simulated over the estate in the database, written to the lake.

What the traffic looks like (``TrafficSettings`` holds every share and rate):

* ``rate`` is the mean number of service requests a second over the whole simulated period.
* **Daily reads** (4.6.1, 4.8.1, 4.17, 4.14 ...) arrive mostly between 01:00 and 05:00 UTC, when
  suppliers schedule their overnight collection: the burst hours carry several times the rate.
* **On-demand traffic** (reads, top-ups, tariff and configuration changes, schedules, network
  operators' voltage and alert configuration, hub returns) follows an intra-day curve: quiet
  overnight, rising from 07:00, peaking in the evening when customers top up.
* **Install waves** on working days, 08:00-18:00: 8.11 (hub's HAN log) -> 8.1.1 commission ->
  6.21 handover -> 8.7.1/8.7.2 join -> 6.20.1 set MPxN -> 8.14.1 install success (8.14.2
  install and leave now and then); a step that fails ends the journey.
* **Change of supplier** (gain): 6.23 credential update -> 1.1.1 tariff -> 6.8 billing calendar,
  then a read within 30 days (dropped when it falls after the simulated period).
* **Tariff campaigns**: each day one supplier, chosen by estate size, pushes 1.1.1 and 1.2.1.
* **Firmware campaigns**: each day one hub model gets 11.1; hubs that took it get 11.3 hours to
  days later.
* **Power outages**: bursts of AD1 from electricity meters in one CSP region; each meter sends
  0x8F35 (supply outage restored) when power is back, except the share that never does.
* **CSP incidents**: some days one region is degraded for a while; requests there are slower,
  fail more, and carry the incident's category (1 or 2).

Senders are the parties entitled to the device: its registered supplier (IS for electricity, GS
for gas) for most SRVs, its network operator (ED/GT) for network SRVs and some reads, the
supplier's appointed agent (RSA) for hub returns and some installs where one is appointed.
Each request leaves received -> acknowledged (or refused with an E code, nothing after) ->
sent -> response rows; failures raise N13/N55, commissions N16, credential updates N42.

Determinism: the plan (how many requests of each stream in each minute, campaigns, outages,
incidents) is drawn from the master seed; each chunk of minutes then draws from its own
generator seeded by ``(seed, chunk number)``, so the output does not depend on how many worker
processes ran or in which order chunks finished. ``request_id`` and ``event_id`` carry the chunk
number in their upper 32 bits. The estate snapshot is read once, as registered on the start day.

The package, by job: ``mix`` (settings, streams, codes), ``estate`` (the read),
``plan`` (the traffic plan), ``chunks`` (the chunk generator), ``driver`` (the processes).
"""

from __future__ import annotations

from meterhub.lake.simulate.chunks import ChunkGenerator
from meterhub.lake.simulate.driver import TrafficSummary, simulate_traffic
from meterhub.lake.simulate.estate import Estate, load_estate
from meterhub.lake.simulate.mix import ALERT_CODES, RESPONSE_CODES, SRVS, STREAMS, TrafficSettings
from meterhub.lake.simulate.plan import Chunk, Incident, Outage, TrafficPlan, plan_traffic

__all__ = [
    "ALERT_CODES",
    "RESPONSE_CODES",
    "SRVS",
    "STREAMS",
    "Chunk",
    "ChunkGenerator",
    "Estate",
    "Incident",
    "Outage",
    "TrafficPlan",
    "TrafficSettings",
    "TrafficSummary",
    "load_estate",
    "plan_traffic",
    "simulate_traffic",
]
