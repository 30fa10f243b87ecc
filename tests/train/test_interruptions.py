"""What interrupted, concurrent and failing runs leave behind: nothing lost, nothing half done, one-line messages."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import PIL.Image
import pytest
from trainutil import TINY, final_snapshot, only_run, run_stats, run_train

from stylegan.cli import main
from stylegan.files import read_jsonl


pytestmark = pytest.mark.usefixtures("own_cache")


def _train(toy_data, outdir, *extra):
    run_train("--outdir", str(outdir), "--data", str(toy_data), *TINY, "--tick", "0.008", "--aug", "noaug", *extra)
    return only_run(outdir)


def test_a_second_signal_stops_at_once():
    from stylegan.train.loop import StopRequest

    stop = StopRequest(announce=False)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.flag  # The first one asks for a snapshot at the end of the step.
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
        if hasattr(signal, "SIGHUP"):
            assert signal.getsignal(signal.SIGHUP) == stop._handler  # A closed terminal stops a run as SIGTERM does.
    finally:
        stop.restore()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_run_in_use_is_refused(toy_data, tmp_path, capsys):
    run = _train(toy_data, tmp_path / "runs", "--kimg", "0.016")
    before = (run / "config.json").read_text()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom stylegan.files import exclusive_folder\n"
                               f"with exclusive_folder({str(run)!r}, 'x'):\n print('held', flush=True)\n"
                               " time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        capsys.readouterr()
        assert main(["train", "--resume", str(run), "--kimg", "0.032"]) == 2
        assert f"--resume {run} is in use by another process" in capsys.readouterr().err
        assert (run / "config.json").read_text() == before  # Not rewritten with --kimg 0.032.
    finally:
        holder.kill()
        holder.wait()
    assert main(["train", "--resume", str(run), "--kimg", "0.032"]) == 0  # Free again once its holder is gone.
    assert run_stats(run)[-1]["kimg"] == pytest.approx(0.032)


def test_a_failing_metric_keeps_its_snapshot_and_an_interrupt_skips_metrics(toy_data, tmp_path, monkeypatch):
    from stylegan import metrics
    from stylegan.train import loop

    calls = []

    def failing(names, G, dataset, options):
        calls.append(names)
        raise RuntimeError("out of memory (simulated)")

    monkeypatch.setattr(metrics, "evaluate_metrics", failing)
    with pytest.raises(RuntimeError, match="simulated"):
        _train(toy_data, tmp_path / "a", "--kimg", "0.032", "--metrics", "swd16k")
    run = only_run(tmp_path / "a")
    assert calls == [["swd16k"]] and final_snapshot(run).has("G_ema")  # Saved before the metric ran.
    monkeypatch.setattr(metrics, "evaluate_metrics", lambda *a, **k: calls.append("again") or [])
    monkeypatch.setattr(loop.StopRequest, "requested", lambda self, d: True)  # Ctrl-C at the first step.
    assert main(["train", "--resume", str(run)]) == 130
    assert calls == [["swd16k"]]  # The interrupt's snapshot did not wait for metrics.
    assert run_stats(run)[-1]["kimg"] == pytest.approx(0.016)  # One step on from the snapshot at 0.008.


def test_missing_detectors_are_found_before_the_run_starts(toy_data, tmp_path, monkeypatch, capsys):
    from stylegan.metrics import detectors

    def offline(url, timeout=60):
        raise OSError("no network (test)")

    monkeypatch.delenv("STYLEGAN_INCEPTION", raising=False)
    monkeypatch.setattr(detectors, "_open_url", offline)
    assert main(["train", "--outdir", str(tmp_path / "runs"), "--data", str(toy_data), *TINY, "--kimg", "0.016",
                 "--metrics", "fid50k_full"]) == 2
    err = capsys.readouterr().err
    assert "--metrics fid50k_full: could not download the inception detector" in err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_train_takes_the_detector_file_for_its_metrics(toy_data, tmp_path, monkeypatch, capsys):
    """--detector PATH, which the detector hint names, is the same as STYLEGAN_INCEPTION=PATH (torchrun's processes
    inherit it)."""
    from stylegan.errors import UserError
    from stylegan.metrics import detectors

    seen = []

    def spy(which, *args, **kwargs):
        seen.append((which, os.environ.get("STYLEGAN_INCEPTION")))
        raise UserError("checked (test)")

    monkeypatch.delenv("STYLEGAN_INCEPTION", raising=False)
    monkeypatch.setattr(detectors, "resolve_detector", spy)
    common = ["train", "--outdir", str(tmp_path / "runs"), "--data", str(toy_data), *TINY, "--metrics", "fid50k_full"]
    assert main([*common, "--detector", str(tmp_path / "missing.pt")]) == 2
    assert f"--detector {tmp_path / 'missing.pt'}: no such file" in capsys.readouterr().err
    (tmp_path / "inception.pt").write_bytes(b"stand-in")
    assert main([*common, "--detector", str(tmp_path / "inception.pt")]) == 2
    assert seen == [("inception", str(tmp_path / "inception.pt"))]


def test_ctrl_c_before_the_loop_leaves_no_run_directory(toy_data, tmp_path, monkeypatch, capsys):
    from stylegan.train import loop

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "open_dataset", interrupted)  # Ctrl-C while the data loads.
    assert main(["train", "--outdir", str(tmp_path / "runs"), "--data", str(toy_data), *TINY, "--kimg", "1"]) == 130
    assert "stopped before training started" in capsys.readouterr().err
    assert list((tmp_path / "runs").iterdir()) == []


def test_resuming_a_finished_run_writes_a_missing_samples_png(toy_data, tmp_path, capsys):
    run = _train(toy_data, tmp_path / "runs", "--kimg", "0.016")
    samples = np.asarray(PIL.Image.open(run / "samples.png"))
    (run / "samples.png").unlink()  # Ctrl-C while it was being written.
    assert main(["train", "--resume", str(run)]) == 0
    assert np.array_equal(np.asarray(PIL.Image.open(run / "samples.png")), samples)
    assert main(["train", "--resume", str(run)]) == 2  # Complete: nothing left to do.
    assert "already at kimg 0.016" in capsys.readouterr().err


def test_resume_warns_when_the_dataset_changed(toy_data, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(toy_data, data)
    run = _train(data, tmp_path / "runs", "--kimg", "0.016")
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--kimg", "0.024"]) == 0
    assert "changed since" not in capsys.readouterr().err
    (data / "00.png").unlink()
    assert main(["train", "--resume", str(run), "--kimg", "0.032"]) == 0
    assert f"the dataset {data} changed since the run last trained (40 images then, 39 now)" in capsys.readouterr().err
    assert main(["train", "--resume", str(run), "--kimg", "0.040"]) == 0  # Once per change: this one was reported.
    assert "changed since" not in capsys.readouterr().err
    (data / "01.png").unlink()
    assert main(["train", "--resume", str(run), "--kimg", "0.048"]) == 0
    assert f"the dataset {data} changed since the run last trained (39 images then, 38 now)" in capsys.readouterr().err
    assert json.loads((run / "config.json").read_text())["dataset"]["num_images"] == 40  # Provenance kept.


def test_stats_readers_skip_a_torn_line(toy_data, tmp_path):
    """A kill mid-append leaves half a line; the ADA plot (drawn at every snapshot) and resume read past it."""
    from stylegan.train.progress import save_ada_plot

    run = _train(toy_data, tmp_path / "runs", "--kimg", "0.016")
    with open(run / "stats.jsonl", "a") as f:
        f.write('{"tick": 9, "kimg": 0.0')
    (run / "ada.png").unlink()
    save_ada_plot(run, target=0.6)
    assert (run / "ada.png").is_file()
    assert [r["tick"] for r in read_jsonl(run / "stats.jsonl")] == [0, 1]


def test_sighup_stops_a_run_with_a_snapshot(toy_data, tmp_path):
    """A closed terminal (SIGHUP) finishes the step and writes a snapshot, as Ctrl-C does."""
    if not hasattr(signal, "SIGHUP"):
        pytest.skip("no SIGHUP on this platform")
    proc = subprocess.Popen([sys.executable, "-m", "stylegan", "train", "--outdir", str(tmp_path / "runs"), "--data",
                             str(toy_data), *TINY, "--kimg", "100", "--tick", "0.008", "--aug", "noaug"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("tick 1 "):
            break
    proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert proc.wait(timeout=1) == 130
    run = only_run(tmp_path / "runs")
    assert "SIGHUP: stopping after this step" in proc.stderr.read()
    assert "interrupted at kimg" in (run / "log.txt").read_text() and final_snapshot(run).has("G_ema")


def test_stopping_at_once_is_logged(toy_data, tmp_path, monkeypatch):
    from stylegan.train import loop

    real_step, steps = loop.train_step, []

    def step_then_second_signal(*args):
        steps.append(1)
        if len(steps) == 3:
            raise KeyboardInterrupt  # What the second Ctrl-C raises, wherever the run is.
        return real_step(*args)

    monkeypatch.setattr(loop, "train_step", step_then_second_signal)
    assert main(["train", "--outdir", str(tmp_path / "runs"), "--data", str(toy_data), *TINY, "--kimg", "1",
                 "--tick", "0.008", "--aug", "noaug"]) == 130
    run = only_run(tmp_path / "runs")  # Kept: it has a snapshot from tick 0 to resume from.
    assert "stopped at once at kimg 0.016; a resume goes on from the last snapshot" in (run / "log.txt").read_text()
    assert final_snapshot(run).has("G_ema")


def test_signals_ignored_at_start_stay_ignored(monkeypatch):
    """Under `nohup` (SIGHUP ignored) a closed terminal does not stop the run."""
    from stylegan.train.loop import stop_signals

    if not hasattr(signal, "SIGHUP"):
        pytest.skip("no SIGHUP on this platform")
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        assert signal.SIGHUP not in stop_signals() and signal.SIGTERM in stop_signals()
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert signal.SIGHUP in stop_signals()


def test_sigterm_before_the_loop_leaves_no_run_directory(toy_data, tmp_path, monkeypatch, capsys):
    from stylegan.train import loop

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # As a job scheduler would, while the data loads.
        time.sleep(5)

    monkeypatch.setattr(loop, "open_dataset", terminated)
    assert main(["train", "--outdir", str(tmp_path / "runs"), "--data", str(toy_data), *TINY, "--kimg", "1"]) == 130
    assert "stopped before training started" in capsys.readouterr().err
    assert list((tmp_path / "runs").iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # Given back.


def test_the_gpus_launcher_passes_sigterm_on_and_waits(monkeypatch, tmp_path):
    """`--gpus N` runs torchrun as a child: SIGTERM to the launcher reaches it, and the launcher returns only when
    it has ended (before, the workers trained on, orphaned)."""
    import subprocess
    import threading
    from types import SimpleNamespace

    from stylegan.cli import train as train_cli

    child = ("import signal, sys, time\n"
             "signal.signal(signal.SIGTERM, lambda *a: (open(sys.argv[1], 'w').write('stopped'), sys.exit(130)))\n"
             "print('ready', flush=True)\ntime.sleep(60)\n")
    marker = tmp_path / "launcher.txt"
    real_popen = subprocess.Popen
    started = []

    def fake_popen(cmd):
        assert cmd[1:4] == ["-m", "stylegan.train.torchrun", "--standalone"]
        started.append(real_popen([sys.executable, "-c", child, str(marker)], stdout=subprocess.PIPE, text=True))
        return started[0]

    monkeypatch.setattr(subprocess, "Popen", fake_popen)

    def terminate_when_ready():
        while not started:
            time.sleep(0.05)
        started[0].stdout.readline()
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_when_ready, daemon=True).start()
    assert train_cli._launch_torchrun(SimpleNamespace(gpus=2, _argv=["train"])) == 130
    assert started[0].poll() == 130 and marker.read_text() == "stopped"


def test_torchrun_stopped_by_a_signal_ends_without_a_traceback(tmp_path):
    """The launcher's torchrun: SIGTERM stops its processes (each gets SIGTERM) and it exits 128 + 15, with no
    traceback of its own on the console."""
    import subprocess

    worker = tmp_path / "worker.py"
    worker.write_text("import signal, sys, time\n"
                      f"signal.signal(signal.SIGTERM, lambda *a: (open({str(tmp_path / 'w.txt')!r}, 'w').write('x'), "
                      "sys.exit(130)))\nprint('ready', flush=True)\ntime.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-m", "stylegan.train.torchrun", "--standalone", "--nproc_per_node=1",
                             str(worker)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and (tmp_path / "w.txt").read_text() == "x"


def test_a_log_that_cannot_be_written_is_one_line(tmp_path):
    from stylegan.errors import UserError
    from stylegan.progress import _Lines
    from stylegan.train.progress import Reporter

    rep = Reporter(tmp_path / "gone", 1, 0, enabled=True)  # As on a full disk: appending fails.
    with pytest.raises(UserError, match=r"gone/log.txt: cannot append to it \(No such file or directory\)"):
        rep.log("a line")
    rep.record_error(0.5, RuntimeError("the real error"))  # Does not hide the real error behind its own.

    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError

        def flush(self):
            raise BrokenPipeError

    lines = _Lines(ClosedPipe())  # Progress lines into `2>&1 | head` after head has gone.
    lines.write("metric: 10/100\r")
    lines.flush()
    assert lines.closed


def test_run_directories_get_the_next_free_number_and_an_unwritable_outdir_is_one_line(tmp_path):
    from stylegan.errors import UserError
    from stylegan.train.rundir import create_run_dir

    assert create_run_dir(tmp_path / "runs", "x").name == "00000-x"
    assert create_run_dir(tmp_path / "runs", "x").name == "00001-x"
    (tmp_path / "file").write_text("")
    with pytest.raises(UserError, match="--outdir .*file/runs: cannot create a run directory there"):
        create_run_dir(tmp_path / "file" / "runs", "x")
