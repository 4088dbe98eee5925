"""Reading operator CSV files strictly, with the physical line number of every row."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from meterhub.bulk import csvfile
from meterhub.errors import InvalidInput, PayloadTooLarge


def _file(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    return path


class TestScan:
    def test_counts_rows_and_normalises_the_header(self, tmp_path: Path) -> None:
        path = _file(tmp_path, b" Code ,NAME\r\nA,1\r\n\r\n,\r\nB,2\r\n")

        shape = csvfile.scan(path, max_bytes=1000)

        assert shape.header == ("code", "name")
        assert shape.rows == 2

    def test_an_excel_byte_order_mark_is_not_part_of_the_first_column(self, tmp_path: Path) -> None:
        path = _file(tmp_path, b"\xef\xbb\xbfcode,name\nA,1\n")

        assert csvfile.scan(path, max_bytes=1000).header == ("code", "name")

    def test_the_hash_changes_with_the_content(self, tmp_path: Path) -> None:
        first = csvfile.scan(_file(tmp_path, b"a\n1\n"), max_bytes=100).sha256
        second = csvfile.scan(_file(tmp_path, b"a\n2\n"), max_bytes=100).sha256

        assert first != second

    def test_every_ragged_line_is_counted_in_the_refusal(self, tmp_path: Path) -> None:
        path = _file(tmp_path, b"a,b\n1\n1,2\n1,2,3\n")

        with pytest.raises(InvalidInput, match=r"line 2 has 1 fields .* \(2 such lines in all\)"):
            csvfile.scan(path, max_bytes=1000)

    def test_the_header_check_runs_before_the_rows_are_read(self, tmp_path: Path) -> None:
        path = _file(tmp_path, b"a,b\n1\n")

        def refuse(header: tuple[str, ...]) -> None:
            raise InvalidInput(f"saw {header}", code="bad_columns")

        with pytest.raises(InvalidInput, match="saw") as caught:
            csvfile.scan(path, max_bytes=1000, check_header=refuse)
        assert caught.value.code == "bad_columns"

    def test_a_file_too_big_is_refused_by_its_size(self, tmp_path: Path) -> None:
        with pytest.raises(PayloadTooLarge):
            csvfile.scan(_file(tmp_path, b"a\n" + b"1\n" * 100), max_bytes=50)

    def test_a_directory_is_not_a_file(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidInput) as caught:
            csvfile.scan(tmp_path, max_bytes=50)
        assert caught.value.code == "no_such_file"


class TestRows:
    def test_rows_carry_the_line_they_start_on_even_after_multiline_cells(
        self, tmp_path: Path
    ) -> None:
        path = _file(tmp_path, b'key,note\nA,"two\nlines"\n\nB,plain\n')

        rows = list(csvfile.rows(path, max_bytes=1000))

        assert [(r.line, r.values) for r in rows] == [
            (2, {"key": "A", "note": "two\nlines"}),
            (5, {"key": "B", "note": "plain"}),
        ]


class TestWriteReport:
    def test_report_has_a_header_and_one_row_per_rejection(self, tmp_path: Path) -> None:
        path = tmp_path / "r.csv"

        csvfile.write_report(
            path, [(4, "00-DB", "bad_eui64", "not, an EUI-64"), (9, "-1", "x", "+y")]
        )

        with path.open(newline="", encoding="utf-8") as fh:
            assert list(csv.reader(fh)) == [
                ["line", "key", "code", "message"],
                ["4", "00-DB", "bad_eui64", "not, an EUI-64"],
                ["9", "'-1", "x", "'+y"],
            ]
