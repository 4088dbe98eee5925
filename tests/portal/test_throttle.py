"""The login throttle: counted per username and per address, windows that double, then reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from meterhub.errors import TooManyAttempts
from meterhub.portal import throttle
from meterhub.portal.throttle import ThrottlePolicy

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(failures_before_delay=3, max_delay_seconds=30.0)


def fail(
    session: Session, *, username: str = "ann", address: str = "10.0.0.1", at: datetime = T0
) -> None:
    throttle.record_failure(session, username=username, address=address, policy=POLICY, now=at)


def wait(
    session: Session, *, username: str = "ann", address: str = "10.0.0.1", at: datetime = T0
) -> float:
    return throttle.wait_seconds(session, username=username, address=address, policy=POLICY, now=at)


class TestThrottlePolicy:
    def test_no_delay_before_the_threshold(self) -> None:
        assert [POLICY.delay_after(n) for n in range(3)] == [0.0, 0.0, 0.0]

    def test_delay_doubles_then_stops_at_the_cap(self) -> None:
        assert [POLICY.delay_after(n) for n in range(3, 10)] == [1, 2, 4, 8, 16, 30, 30]

    def test_huge_counts_do_not_overflow(self) -> None:
        assert POLICY.delay_after(10_000) == 30.0


class TestThrottle:
    def test_free_until_the_threshold_then_refused(self, session: Session) -> None:
        fail(session)
        fail(session)
        assert wait(session) == 0
        throttle.check(session, username="ann", address="10.0.0.1", policy=POLICY, now=T0)
        fail(session)
        with pytest.raises(TooManyAttempts) as refused:
            throttle.check(session, username="ann", address="10.0.0.1", policy=POLICY, now=T0)
        assert refused.value.status == 429
        assert refused.value.message == "too many attempts, try again in 1 second"

    def test_the_wait_is_said_in_whole_seconds_with_the_right_plural(
        self, session: Session
    ) -> None:
        for _ in range(4):
            fail(session)
        with pytest.raises(TooManyAttempts) as refused:
            throttle.check(session, username="ann", address="10.0.0.1", policy=POLICY, now=T0)
        assert refused.value.message == "too many attempts, try again in 2 seconds"

    def test_counts_per_username_from_any_address(self, session: Session) -> None:
        for i in range(3):
            fail(session, username="ann", address=f"10.0.0.{i}")
        assert wait(session, username="ANN ", address="10.9.9.9") == pytest.approx(1.0)
        assert wait(session, username="bob", address="10.9.9.9") == 0

    def test_counts_per_address_across_usernames(self, session: Session) -> None:
        for name in ("ann", "bob", "cat"):
            fail(session, username=name, address="10.0.0.7")
        assert wait(session, username="dan", address="10.0.0.7") == pytest.approx(1.0)
        assert wait(session, username="dan", address="10.0.0.8") == 0

    def test_window_expires_as_the_clock_moves(self, session: Session) -> None:
        for _ in range(5):
            fail(session)
        assert wait(session) == pytest.approx(4.0)
        assert wait(session, at=T0 + timedelta(seconds=3)) == pytest.approx(1.0)
        assert wait(session, at=T0 + timedelta(seconds=4)) == 0

    def test_each_further_failure_doubles_the_window(self, session: Session) -> None:
        at = T0
        windows = []
        for _ in range(8):
            fail(session, at=at)
            windows.append(wait(session, at=at))
            at += timedelta(seconds=60)
        assert windows == [0, 0, 1, 2, 4, 8, 16, 30]

    def test_success_resets_the_user_but_not_the_address(self, session: Session) -> None:
        for _ in range(3):
            fail(session)
        throttle.reset_user(session, username="ann")
        assert throttle.failures_for(session, scope=throttle.USER, key="ann") == 0
        assert throttle.failures_for(session, scope=throttle.ADDRESS, key="10.0.0.1") == 3
        assert wait(session, username="ann", address="10.0.0.2") == 0

    def test_a_quiet_day_forgets_the_failures(self, session: Session) -> None:
        for _ in range(6):
            fail(session)
        later = T0 + timedelta(hours=25)
        assert wait(session, at=later) == 0
        fail(session, at=later)
        assert throttle.failures_for(session, scope=throttle.USER, key="ann") == 1
