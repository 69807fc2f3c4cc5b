"""The tool never deletes or changes a file it did not write (issue 14, data loss first).

Each test builds a folder of the user's, runs a real command at it through ``model.cli.main``
(or a subprocess where a signal is involved), and compares the folder byte for byte.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

import model.cli
import model.outputs as outputs
from model.errors import InputError
from model.outputs import MARKER, claim_output_dir, publish, safe_name

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
SMALL = DATA / "scenarios" / "small.toml"
TINY = ["--set", "market.size=2000", "--set", "market.initial_public=100", "--days", "20"]
RUN_FILES = {"daily.parquet", "daily.csv", "summary.json", "scenario.toml"}


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under ``folder``, by relative path."""
    out: dict[str, bytes | None] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        out[rel] = None if path.is_dir() else path.read_bytes()
    return out


def user_folder(path: Path) -> Path:
    """A folder of the user's: files at the top, a subfolder, a name the tool also writes."""
    path.mkdir(parents=True)
    (path / "notes.txt").write_text("my notes, not yours\n")
    (path / "sub").mkdir()
    (path / "sub" / "data.csv").write_bytes(b"a,b\n1,2\n")
    return path


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = model.cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_tiny(scenario: Path, out: Path | str | None, capsys, *extra: str):
    argv = ["run", str(scenario), *TINY, "--no-plots", *extra]
    if out is not None:
        argv += ["--out", str(out)]
    return run(argv, capsys)


# --- run: the output directory is never replaced wholesale ----------------------------------


def test_rerun_keeps_files_the_user_added_and_replaces_only_its_own(tmp_path, capsys):
    out = tmp_path / "res"
    assert run_tiny(SMALL, out, capsys)[0] == 0
    assert RUN_FILES <= {p.name for p in out.iterdir()}
    (out / "my_analysis.xlsx").write_bytes(b"\x00user bytes\xff")
    (out / "mine").mkdir()
    (out / "mine" / "x.txt").write_text("x")
    before = snapshot(out)
    code, _, err = run_tiny(SMALL, out, capsys, "--seed", "5")
    assert code == 0, err
    after = snapshot(out)
    assert after["my_analysis.xlsx"] == before["my_analysis.xlsx"]
    assert after["mine/x.txt"] == b"x"
    assert after["summary.json"] != before["summary.json"]  # the rerun did replace its own
    assert not [p for p in out.iterdir() if ".partial-" in p.name or p.name.endswith(".tmp")]


def test_a_stale_output_of_the_tool_is_removed_but_only_its_own(tmp_path, capsys):
    out = tmp_path / "res"
    assert run_tiny(SMALL, out, capsys, "--set", "operation.mode=guides")[0] == 0
    assert (out / "guides.csv").is_file()
    assert run_tiny(SMALL, out, capsys)[0] == 0  # persona mode: no guides table
    assert not (out / "guides.csv").exists()


@pytest.mark.parametrize("extra", [[], ["--overwrite"]], ids=["refused", "overwrite"])
def test_an_existing_user_folder_is_never_emptied(tmp_path, capsys, extra):
    out = user_folder(tmp_path / "mine")
    before = snapshot(out)
    code, _, err = run_tiny(SMALL, out, capsys, *extra)
    after = snapshot(out)
    if not extra:
        assert code == 2 and "did not create" in err and "--overwrite" in err
        assert after == before
    else:  # written into, next to the user's files, which are untouched
        assert code == 0, err
        assert {k: v for k, v in after.items() if k in before} == before
        assert RUN_FILES <= set(after)
    assert "Traceback" not in err


def test_overwrite_never_replaces_a_user_file_with_an_output_name(tmp_path, capsys):
    out = user_folder(tmp_path / "mine")
    (out / "summary.json").write_text('{"mine": true}')
    before = snapshot(out)
    code, _, err = run_tiny(SMALL, out, capsys, "--overwrite")
    assert code == 2 and "summary.json" in err and "did not write" in err
    assert snapshot(out) == before


def test_the_folder_holding_the_input_is_refused(tmp_path, capsys):
    folder = tmp_path / "scen"
    folder.mkdir()
    scenario = folder / "s.toml"
    scenario.write_text(f'base = "{SMALL.as_posix()}"\nname = "s"\n')
    before = snapshot(folder)
    code, _, err = run_tiny(scenario, folder, capsys)
    assert code == 2 and "holds the input" in err
    assert snapshot(folder) == before
    # Even --overwrite writes next to the input, never over it.
    code, _, err = run_tiny(scenario, folder, capsys, "--overwrite")
    assert code == 0, err
    assert scenario.read_bytes() == before["s.toml"]


def test_out_dot_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    user_folder(tmp_path / "cwd")
    monkeypatch.chdir(tmp_path / "cwd")
    before = snapshot(tmp_path)
    calls = []
    monkeypatch.setattr("model.api.simulate", lambda *a, **k: calls.append(1))
    code, _, err = run_tiny(SMALL, ".", capsys)
    assert code == 2 and "(the current folder)" in err
    assert calls == []  # refused before simulating
    assert snapshot(tmp_path) == before  # no ..partial-* left beside or inside it


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("", "unnamed"),
        ("../victim", "victim"),
        ("/abs/path", "abs_path"),
        ("a/../../b", "a_.._.._b"),
        ("..", "unnamed"),
        ("nul\x00byte", "nul_byte"),
    ],
)
def test_a_scenario_name_becomes_one_safe_folder_under_out(
    tmp_path, capsys, monkeypatch, name, folder
):
    monkeypatch.chdir(tmp_path)
    user_folder(tmp_path / "out" / "keep")
    user_folder(tmp_path / "victim")
    before_out, before_victim = snapshot(tmp_path / "out" / "keep"), snapshot(tmp_path / "victim")
    code, _, err = run_tiny(
        SMALL,
        None,
        capsys,
        "--set",
        f"name={name!r}".replace("'", '"') if "\x00" not in name else "name=nul\u0000byte",
    )
    assert code == 0, err
    assert safe_name(name) == folder
    assert (tmp_path / "out" / folder / "summary.json").is_file()
    assert snapshot(tmp_path / "out" / "keep") == before_out
    assert snapshot(tmp_path / "victim") == before_victim
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted({"keep", folder})


# --- --out naming an existing file: every writing command refuses, the file survives ---------


def _commands(tmp_path: Path, out: Path) -> dict[str, list[str]]:
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        textwrap.dedent(f"""
        scenario = "{SMALL.as_posix()}"
        run = "model.sweep.toy:toy_run"
        [sweep]
        "outreach.pushes_per_week" = [1, 2]
    """)
    )
    sens = tmp_path / "sens.toml"
    sens.write_text(
        textwrap.dedent(f"""
        scenario = "{SMALL.as_posix()}"
        run = "model.sweep.toy:toy_run"
        [sweep]
        "diversion.p_join_max" = {{ low = 0.05, high = 0.3 }}
        [sensitivity]
        methods = ["morris"]
        morris_trajectories = 2
    """)
    )
    o = ["--out", str(out)]
    return {
        "run": ["run", str(SMALL), *TINY, "--no-plots", *o],
        "fit-orders": [
            "fit-orders",
            str(DATA / "orders" / "good.csv"),
            "--calibration-end",
            "2024-06-30",
            *o,
        ],
        "compare": [
            "compare",
            str(DATA / "compare" / "small.toml"),
            "--replicates",
            "1",
            "--workers",
            "1",
            "--no-plots",
            "--set",
            "market.size=2000",
            "--set",
            "market.initial_public=100",
            "--set",
            "sim.days=20",
            *o,
        ],
        "forecast": [
            "forecast",
            str(SMALL),
            *TINY[:4],
            "--months",
            "1",
            "--replicates",
            "2",
            "--workers",
            "1",
            "--no-progress",
            *o,
        ],
        "sweep": ["sweep", str(sweep), "--workers", "1", "--no-progress", "--no-plots", *o],
        "sensitivity": [
            "sensitivity",
            str(sens),
            "--workers",
            "1",
            "--no-progress",
            "--no-plots",
            *o,
        ],
        "calibrate": [
            "calibrate",
            str(SMALL),
            "--series",
            str(DATA / "series" / "valid.csv"),
            "--populations",
            "1",
            "--population-size",
            "4",
            "--workers",
            "1",
            *o,
        ],
    }


COMMANDS = ["run", "fit-orders", "compare", "forecast", "sweep", "sensitivity", "calibrate"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("extra", [[], ["--overwrite"]], ids=["plain", "overwrite"])
def test_out_naming_an_existing_file_is_refused_and_the_file_survives(
    tmp_path, capsys, command, extra
):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF precious")
    code, _, err = run(_commands(tmp_path, target)[command] + extra, capsys)
    assert code == 2, err
    assert "is an existing file" in err and "Traceback" not in err
    assert target.read_bytes() == b"%PDF precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf", "sens.toml", "sweep.toml"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_a_user_folder(tmp_path, capsys, command):
    out = user_folder(tmp_path / "mine")
    argv = _commands(tmp_path, out)[command]
    before = snapshot(tmp_path)
    code, _, err = run(argv, capsys)
    assert code == 2 and "did not create" in err, err
    assert snapshot(tmp_path) == before


def test_another_commands_output_needs_overwrite_and_then_only_its_files_go(tmp_path, capsys):
    out = tmp_path / "res"
    assert run_tiny(SMALL, out, capsys)[0] == 0
    (out / "keep.txt").write_text("mine")
    cmd = _commands(tmp_path, out)["forecast"]
    code, _, err = run(cmd, capsys)
    assert code == 2 and "holds the output of `run.py run`" in err
    assert run(cmd + ["--overwrite"], capsys)[0] == 0
    names = {p.name for p in out.iterdir()}
    assert "forecast_bands.csv" in names and "keep.txt" in names
    assert not names & RUN_FILES  # the run's files were the tool's own: replaced


def test_compare_refuses_a_run_cache_folder_it_did_not_create(tmp_path, capsys):
    cache = user_folder(tmp_path / ".cmp.runs")
    before = snapshot(cache)
    cmd = _commands(tmp_path, tmp_path / "cmp")["compare"]
    code, _, err = run(cmd, capsys)
    assert code == 2 and "run cache" in err and "did not create" in err
    assert snapshot(cache) == before and not (tmp_path / "cmp").exists()


# --- leftovers of killed runs are cleaned; nothing half-written ----------------------------


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout)


def test_staging_folders_and_temporaries_of_dead_processes_are_cleaned(tmp_path, capsys):
    out = tmp_path / "res"
    assert run_tiny(SMALL, out, capsys)[0] == 0
    dead = _dead_pid()
    # What a SIGKILL leaves: a staging folder beside a new output, one inside an existing one,
    # and a temporary file of an atomic write.
    beside, inside = tmp_path / f".res.partial-{dead}-0badc0de", out / f".sidomain.partial-{dead}-1"
    for staging in (beside, inside):
        staging.mkdir()
        (staging / MARKER).write_text('{"tool": "sidomain", "command": "run", "files": []}')
        (staging / "daily.csv").write_text("half")
    (out / f".summary.json.{dead}-abcd1234.tmp.json").write_text("{")
    # A user's folder that merely looks alike (no marker inside) is left alone.
    (tmp_path / f".res.partial-{dead}-feedf00d").mkdir()
    (tmp_path / f".res.partial-{dead}-feedf00d" / "mine.txt").write_text("mine")
    assert run_tiny(SMALL, out, capsys)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".res.partial-{dead}-feedf00d", "res"]
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.name != MARKER]


def test_sigkill_while_publishing_leaves_nothing_a_rerun_cannot_clean(tmp_path, capsys):
    out = tmp_path / "res"
    # A writer killed in the middle of writing its files (the block of publish()).
    code = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from model.outputs import claim_output_dir, publish
        claim = claim_output_dir({str(out)!r}, "run")
        with publish(claim) as tmp:
            (tmp / "daily.csv").write_text("half a file")
            print("writing", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not out.exists()  # nothing half-written at the output path
    assert len(list(tmp_path.glob(".res.partial-*"))) == 1
    assert run_tiny(SMALL, out, capsys)[0] == 0
    assert list(tmp_path.glob(".res.partial-*")) == []


def test_sigterm_during_a_run_writes_nothing_and_exits_130(tmp_path):
    out = tmp_path / "res"
    cmd = [
        sys.executable,
        "run.py",
        "run",
        str(SMALL),
        "--set",
        "market.size=300000",
        "--set",
        "market.initial_public=20000",
        "--days",
        "3650",
        "--no-plots",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # Imports take about 2.5 s of CPU and the simulation about 10 s: signal in between, by the
    # child's own CPU time (wall time depends on the machine's load).
    child = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if sum(child.cpu_times()[:2]) > 4.5:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_an_error_inside_publish_leaves_the_earlier_output_as_it_was(tmp_path, capsys):
    out = tmp_path / "res"
    assert run_tiny(SMALL, out, capsys)[0] == 0
    before = snapshot(out)
    claim = claim_output_dir(out, "run")
    with pytest.raises(RuntimeError), publish(claim) as tmp:
        (tmp / "summary.json").write_text("{}")
        raise RuntimeError("a plot failed")
    assert snapshot(out) == before


# --- permissions: a message, never a PermissionError traceback ------------------------------


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_read_only_parent_is_a_message(tmp_path, capsys):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        code, _, err = run_tiny(SMALL, parent / "res", capsys)
    finally:
        parent.chmod(0o755)
    assert code == 2 and "not writable" in err and "Traceback" not in err


def test_unwritable_folder_is_refused_before_work(tmp_path, capsys, monkeypatch):
    # Root can write anywhere, so the check is exercised through os.access, as a user sees it.
    monkeypatch.setattr(outputs.os, "access", lambda path, mode: False)
    for out in (tmp_path / "new" / "res", user_folder(tmp_path / "existing")):
        code, _, err = run_tiny(SMALL, out, capsys)
        assert code == 2 and "not writable" in err and "permission denied" in err


def test_a_failing_mkdir_is_a_message_not_a_traceback(tmp_path, monkeypatch):
    claim = claim_output_dir(tmp_path / "a" / "res", "run")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", denied)
    with pytest.raises(InputError, match="cannot write there .Permission denied"):
        with publish(claim):
            pass


# --- names ----------------------------------------------------------------------------------


def test_safe_name_gives_one_path_component():
    for raw in [
        "",
        ".",
        "..",
        "../../etc",
        "/etc/passwd",
        "a\\b",
        "a\x00b",
        " . ",
        "x" * 300,
        "con:aux*?",
        "私域 运营",
    ]:
        name = safe_name(raw)
        assert name and "/" not in name and "\\" not in name and "\x00" not in name
        assert name not in (".", "..") and len(name) <= 100
        assert Path(name).name == name
    assert safe_name("私域 运营") == "私域 运营"
