"""Opaque keyset cursors: what the hub issues comes back intact; anything else is refused."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterhub.errors import InvalidInput
from meterhub.kit.pagination import MAX_ROW_ID, decode_cursor, encode_cursor

sql_ints = st.integers(min_value=-MAX_ROW_ID - 1, max_value=MAX_ROW_ID)
scalars = st.one_of(st.none(), st.booleans(), sql_ints, st.text())


class TestCursor:
    def test_round_trip(self) -> None:
        values = ["2026-11-25T16:00:00+00:00", "00-DB-12-34-56-78-90-A2"]
        cursor = encode_cursor(values)
        assert decode_cursor(cursor) == values

    def test_cursor_is_url_safe(self) -> None:
        cursor = encode_cursor(["??>>~~", "ÿÿÿ"])
        assert all(c.isalnum() or c in "-_" for c in cursor)

    @given(st.lists(scalars, max_size=4))
    def test_any_list_round_trips(self, values: list[Any]) -> None:
        assert decode_cursor(encode_cursor(values)) == values

    @pytest.mark.parametrize(
        "cursor",
        [
            "not a cursor!",
            "%%%%",
            base64.urlsafe_b64encode(b"{not json").decode(),
            base64.urlsafe_b64encode(json.dumps({"a": 1}).encode()).decode(),
            base64.urlsafe_b64encode(json.dumps("text").encode()).decode(),
            base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
            # a position no database row can have (SQLite could not even bind it)
            encode_cursor(["2026-11-25T16:00:00+00:00", 2**63]),
            encode_cursor(["2026-11-25T16:00:00+00:00", 2**31]),
            encode_cursor([-(2**63) - 1]),
            encode_cursor([10**30]),
        ],
    )
    def test_tampered_cursor_is_bad_cursor(self, cursor: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            decode_cursor(cursor)
        assert caught.value.code == "bad_cursor"
        assert caught.value.status == 422
