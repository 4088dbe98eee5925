"""``meterhub market rule show|list|announce``: the operator reads and changes the published
allocation rule; a change is announced ahead, and the ordering parties are told."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from meterhub.cli.main import app
from meterhub.config import Settings
from meterhub.kit.clock import today
from meterhub.notifications import service as notifications
from tests.hub_market.conftest import Market, actor

runner = CliRunner()


def test_show_prints_the_rule_in_force(settings: Settings) -> None:
    shown = runner.invoke(app, ["market", "rule", "show"])
    assert shown.exit_code == 0, shown.output
    assert "version 1 (fcfs): First come, first served" in shown.stdout
    assert "in the order the hub receives them" in shown.stdout


def test_announce_publishes_a_version_and_tells_the_ordering_parties(
    session: Session, market: Market, tmp_path: Path
) -> None:
    text = tmp_path / "rule.txt"
    text.write_text("Whole requests only: met in full or not at all.\n", encoding="utf-8")
    day = (today() + timedelta(days=40)).isoformat()
    args = ["market", "rule", "announce", "--code", "fcfs_whole", "--title", "Whole requests"]
    made = runner.invoke(app, [*args, "--text-file", str(text), "--effective-from", day])
    assert made.exit_code == 0, made.output
    assert f"version 2 (fcfs_whole) announced, in force from {day} 00:00 UTC" in made.stdout
    listed = runner.invoke(app, ["market", "rule", "list"])
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["1", "2"]
    shown = runner.invoke(app, ["market", "rule", "show"])
    assert f"announced: version 2 (fcfs_whole) Whole requests, from {day}" in shown.stdout
    session.expire_all()
    told = notifications.inbox(session, actor=actor(market.login_c))
    assert [n.kind for n in told] == ["market.rule_announced"]
    assert notifications.inbox(session, actor=actor(market.login_network)) == []


def test_too_little_notice_is_one_line_and_exit_2(
    session: Session, market: Market, tmp_path: Path
) -> None:
    text = tmp_path / "rule.txt"
    text.write_text("x", encoding="utf-8")
    soon = (today() + timedelta(days=3)).isoformat()
    args = ["market", "rule", "announce", "--code", "fcfs", "--title", "t", "--text-file"]
    refused = runner.invoke(app, [*args, str(text), "--effective-from", soon])
    assert refused.exit_code == 2
    assert "too_little_notice" in refused.output
    bad = runner.invoke(app, [*args, str(text), "--effective-from", "soon"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
