"""Run plots: one run's curves and several runs overlaid (with the zoomed companion)."""
import os
import subprocess
import sys

from conftest import DIGITS_RUN, ROOT, copy_run


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_each_run_has_its_curve(cifar_run):
    assert _is_png(os.path.join(cifar_run, "val_error.png"))


def test_plot_runs_overlays_and_zooms(cifar_run, miniplaces_run, tmp_path):
    out = tmp_path / "depths.png"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "plot_runs.py"), cifar_run, miniplaces_run,
                        "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert _is_png(out) and _is_png(tmp_path / "depths_zoom.png")
    assert r.stdout.split() == [str(out), str(tmp_path / "depths_zoom.png")]


def test_plot_runs_names_a_folder_that_is_no_run(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "plot_runs.py"), str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "has no metrics.jsonl" in r.stderr


def test_lr_drop_lines_stand_where_the_drops_happen(tmp_path, digits_run, monkeypatch):
    """The shared digits run drops after 7.5 and 10 epochs: the lines at x = 7.5 and x = 10 on the epoch axis."""
    import matplotlib.axes

    from gluon_resnet.train.plots import plot_run
    from gluon_resnet.runs.folder import Run
    assert DIGITS_RUN["lr_step_epochs"] == [7.5, 10]
    lines = []
    real = matplotlib.axes.Axes.axvline
    monkeypatch.setattr(matplotlib.axes.Axes, "axvline", lambda self, x, **kw: lines.append(x) or real(self, x, **kw))
    plot_run(Run(copy_run(digits_run, tmp_path)))
    assert lines == [7.5, 10.0]


def test_importing_the_library_leaves_matplotlib_alone():
    """Training imports plots.py: the process's matplotlib backend must stay what the user chose."""
    code = ("import matplotlib; before = matplotlib.get_backend(); import gluon_resnet.train.training; "
            "import sys; assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
            "print(before == matplotlib.get_backend())")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "MPLBACKEND": "svg"})
    assert r.returncode == 0 and r.stdout.strip() == "True", r.stderr[-2000:]
    # Nor is matplotlib imported before a plot is drawn: a training process that never draws one starts faster.
    code = "import sys; import gluon_resnet.train.training; print('matplotlib' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr[-2000:]


def test_plot_runs_writes_beside_the_first_run_not_into_the_current_folder(cifar_run, miniplaces_run, tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "plot_runs.py"), cifar_run, miniplaces_run],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    stem = os.path.join(os.path.dirname(cifar_run), "val_error-" + os.path.basename(cifar_run) + "-vs-"
                        + os.path.basename(miniplaces_run))
    assert r.stdout.split() == [stem + ".png", stem + "_zoom.png"]
    assert _is_png(stem + ".png") and _is_png(stem + "_zoom.png") and os.listdir(tmp_path) == []
