"""Each traceback of issue 14 is now one clear message (or, for readable input, a result)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import model.cli
from model.errors import InputError
from model.textfiles import decode

DATA = Path(__file__).parent / "data"
SMALL = DATA / "scenarios" / "small.toml"
GOOD = DATA / "orders" / "good.csv"


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = model.cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, out.out, out.err


def _orders_text(header: str = "customer_id,date,amount", sep: str = ",") -> str:
    rng = random.Random(5)
    lines = [header]
    for c in range(40):
        for _ in range(rng.randint(1, 4)):
            day = f"2024-{rng.randint(1, 9):02d}-{rng.randint(1, 28):02d}"
            lines.append(sep.join([f"C{c}", day, f"{rng.randint(5, 300)}.5"]))
    return "\n".join(lines) + "\n"


# --- order exports: encodings are read and named -------------------------------------------


@pytest.mark.parametrize(
    ("label", "data", "columns", "named"),
    [
        (
            "Excel Unicode text",
            _orders_text("customer_id\tdate\tamount", sep="\t").encode("utf-16"),
            [],
            "UTF-16 LE",
        ),
        ("UTF-16 BE", _orders_text().encode("utf-16-be"), [], "UTF-16 BE"),
        ("GBK", _orders_text("客户,日期,金额").encode("gbk"), ["客户", "日期", "金额"], "GBK"),
        ("Big5", _orders_text("客戶,日期,金額").encode("big5"), ["客戶", "日期", "金額"], "Big5"),
        (
            "latin-1",
            _orders_text("customer_id,date,amount").replace("\nC1,", "\nMüller,").encode("latin-1"),
            [],
            "latin-1",
        ),
    ],
)
def test_order_exports_in_other_encodings_are_read_and_named(
    tmp_path, capsys, label, data, columns, named
):
    path = tmp_path / "orders.csv"
    path.write_bytes(data)
    names = dict(zip(["--customer-col", "--date-col", "--amount-col"], columns, strict=False))
    argv = ["fit-orders", path, "--calibration-end", "2024-06-30", "--out", tmp_path / "fit"]
    for option, column in names.items():
        argv += [option, column]
    code, out, err = cli(argv, capsys)
    assert code == 0, err
    assert f"note: read {path} as" in out and named in out


def test_a_binary_export_is_refused(tmp_path, capsys):
    path = tmp_path / "orders.csv"
    path.write_bytes(bytes(range(256)) * 8)
    code, _, err = cli(
        ["fit-orders", path, "--calibration-end", "2024-06-30", "--out", tmp_path / "fit"], capsys
    )
    assert code == 2 and "is not a text file" in err
    assert not (tmp_path / "fit").exists()


@pytest.mark.parametrize(
    ("edit", "flags", "fragment"),
    [
        (("2024-01-24,", "2024-01-24 25:99,"), [], "hours 0–23, minutes and seconds 0–59"),
        (None, ["--calibration-end", "9999-12-31"], "outside the allowed range"),
        (None, ["--holdout-end", "2262-04-12"], "--holdout-end 2262-04-12: outside"),
        (None, ["--date-format", "%Q"], "--date-format '%Q': not a date format"),
    ],
)
def test_bad_dates_and_times_are_messages(tmp_path, capsys, edit, flags, fragment):
    text = GOOD.read_text()
    if edit:
        text = text.replace(*edit, 1)
    path = tmp_path / "orders.csv"
    path.write_text(text)
    argv = ["fit-orders", path, "--calibration-end", "2024-06-30", "--out", tmp_path / "fit"]
    code, _, err = cli(argv + flags, capsys)
    assert code == 2 and fragment in err, err
    assert not (tmp_path / "fit").exists()


def test_all_amounts_zero_blames_the_amounts(tmp_path, capsys):
    lines = GOOD.read_text().splitlines()
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([lines[0]] + [ln.rsplit(",", 1)[0] + ",0" for ln in lines[1:]]))
    code, _, err = cli(
        ["fit-orders", path, "--calibration-end", "2024-06-30", "--out", tmp_path / "fit"], capsys
    )
    assert code == 2 and "every amount is 0" in err and "calibration" not in err


def test_two_repeat_customers_and_an_empty_holdout_fit_without_a_type_error(tmp_path, capsys):
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,date,amount\na,2024-01-01,10\na,2024-02-01,12\n"
        "b,2024-01-05,20\nb,2024-03-01,22\nc,2024-01-10,5\nd,2024-01-11,7\n"
    )
    code, _, err = cli(
        [
            "fit-orders",
            path,
            "--calibration-end",
            "2024-04-30",
            "--holdout-end",
            "2024-08-31",
            "--out",
            tmp_path / "fit",
        ],
        capsys,
    )
    assert code == 0, err
    fragment = (tmp_path / "fit" / "fitted_behaviour.toml").read_text()
    assert "vs 0 actual (error undefined)" in fragment


# --- scenario and series files ---------------------------------------------------------------


def test_an_unreadable_scenario_is_a_message(tmp_path, capsys, monkeypatch):
    # As root every file is readable, so the refusal is simulated where the file is read.
    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    code, _, err = cli(["validate", SMALL], capsys)
    assert code == 2 and "cannot read the scenario file: permission denied" in err


def test_a_series_bigger_than_the_market_is_refused(tmp_path, capsys):
    series = tmp_path / "m.csv"
    series.write_text("month,n_private,joins\n1,5000000,300\n2,5100000,280\n")
    code, _, err = cli(["calibrate", SMALL, "--series", series, "--out", tmp_path / "cal"], capsys)
    assert code == 2
    assert "n_private" in err and "5,000,000" in err and "market.size = 20,000" in err
    assert not (tmp_path / "cal").exists()


def test_a_comparison_whose_base_is_itself_says_so(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text('reference = "a"\n[market]\nbase = "c.toml"\n[[strategies]]\nname = "a"\n')
    code, _, err = cli(["compare", path, "--out", tmp_path / "o"], capsys)
    assert code == 2 and "points at this comparison file itself" in err
    assert err.count("\n") == 1  # one line, not a list of unknown keys


def test_a_sweep_spec_cannot_import_a_module_of_its_choosing(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(
        f'scenario = "{SMALL.as_posix()}"\nrun = "os:system"\n'
        '[sweep]\n"outreach.pushes_per_week" = [1, 2]\n'
    )
    code, _, err = cli(["sweep", spec, "--out", tmp_path / "o"], capsys)
    assert code == 2 and "not a registered run function" in err
    assert not (tmp_path / "o").exists()


def test_utf16_without_a_byte_order_mark_is_recognised():
    text = "month,n_private\n1,30\n"
    assert decode(text.encode("utf-16-le")).text == text
    assert decode(text.encode("utf-16-be")).name == "UTF-16 BE"
    with pytest.raises(InputError, match="not a text file"):
        decode(b"\x00\x01\x02\x03PK\x05\x06" * 50)
