"""The demo trains (loss falls) on synthetic data and on MovieLens-style files."""
import numpy as np
import pytest

from optimizers import demo
from optimizers.checkpoint import wait_for_deletions


@pytest.mark.parametrize("name", ["sgd", "adagrad", "lazyadam", "adam", "ftrl"])
def test_training_lowers_the_loss(name):
    users, items, ratings = demo.make_synthetic(500, 300, 20_000, seed=1)
    lr = demo._DEFAULT_LR[name]
    opt = demo.get({"class_name": name, "config": {"learning_rate": lr}})
    result = demo.train(users, items, ratings, opt, dim=8, batch_size=256, steps=300,
                        progress=False)
    assert result["last_loss"] < result["first_loss"]
    assert result["test_mse_after"] < result["test_mse_before"]


def test_reads_movielens_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = [(rng.integers(1, 40), rng.integers(1, 30), rng.integers(1, 6), 881250949)
            for _ in range(400)]
    tab = tmp_path / "u.data"
    tab.write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows))
    csv = tmp_path / "ratings.csv"
    csv.write_text("userId,movieId,rating,timestamp\n"
                   + "".join(f"{u},{i},{r}.0,{t}\n" for u, i, r, t in rows))
    a, b = demo.load_ratings(str(tab)), demo.load_ratings(str(csv))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert demo.main(["--ratings", str(tab), "--steps", "20", "--batch-size", "64",
                      "--dim", "4", "--quiet", "--optimizer", "adagrad,sgd"]) == 0
    out = capsys.readouterr().out
    assert "Adagrad" in out and "SGD" in out and "ratings/s" in out


def test_unknown_optimizer_is_refused():
    with pytest.raises(SystemExit):
        demo.main(["--optimizer", "nope", "--quiet"])


@pytest.mark.parametrize("name", ["lazyadam", "ftrl", "sgd"])
def test_stopped_and_resumed_run_ends_with_the_same_weights(tmp_path, name):
    common = ["--users", "300", "--items", "200", "--ratings-count", "5000", "--dim", "4",
              "--batch-size", "64", "--quiet", "--optimizer", name, "--checkpoint-every", "7"]
    assert demo.main(common + ["--steps", "40", "--checkpoint", str(tmp_path / "whole")]) == 0
    assert demo.main(common + ["--steps", "23", "--checkpoint", str(tmp_path / "parts")]) == 0
    assert demo.main(common + ["--steps", "40", "--checkpoint", str(tmp_path / "parts"),
                               "--resume"]) == 0
    with np.load(tmp_path / "whole" / name / "ckpt-40") as whole, \
            np.load(tmp_path / "parts" / name / "ckpt-40") as parts:
        assert sorted(whole.files) == sorted(parts.files)
        for key in whole.files:             # arrays, and the manifest's bytes
            assert _raw(whole[key]) == _raw(parts[key]), key


def _raw(member):
    return member.tobytes() if isinstance(member, np.ndarray) else member


def test_resume_needs_a_checkpoint_directory():
    with pytest.raises(SystemExit):
        demo.main(["--resume", "--quiet"])


def test_resume_starts_after_the_newest_checkpoint(tmp_path):
    users, items, ratings = demo.make_synthetic(300, 200, 5000, seed=1)

    def run(steps, resume):
        opt = demo.get({"class_name": "adam", "config": {"learning_rate": 0.01}})
        return demo.train(users, items, ratings, opt, dim=4, batch_size=64, steps=steps,
                          progress=False, checkpoint_dir=str(tmp_path), checkpoint_every=5,
                          resume=resume)

    first = run(12, resume=False)
    assert first["first_step"] == 1 and first["steps"] == 12
    second = run(30, resume=True)
    assert second["first_step"] == 13 and second["steps"] == 18
    wait_for_deletions()
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["ckpt-20", "ckpt-25", "ckpt-30"]


SMALL = ["--users", "50", "--items", "40", "--ratings-count", "800", "--dim", "4",
         "--batch-size", "32", "--steps", "20", "--quiet"]


@pytest.mark.parametrize("args, words", [
    (["--steps", "0"], "--steps: expected a positive integer, got 0"),
    (["--steps", "-5"], "--steps: expected a positive integer"),
    (["--batch-size", "0"], "--batch-size"),
    (["--users", "0"], "--users"),
    (["--items", "x"], "--items: expected a positive integer, got 'x'"),
    (["--dim", "1.5"], "--dim"),
    (["--learning-rate", "-1"], "--learning-rate: expected a positive number"),
    (["--learning-rate", "nan"], "--learning-rate"),
    (["--checkpoint-every", "0"], "--checkpoint-every"),
    (["--optimizer", "adam,nope"], "unknown optimizer ['nope']"),
    (["--optimizer", ","], "unknown optimizer"),
    (["--ratings", "/no/such/file"], "no such file"),
    (["--output", "/no/such/dir/out.json"], "does not exist"),
    (["--ratings-count", "1"], "at least 2 ratings"),
])
def test_misuse_is_a_one_line_error(capsys, args, words):
    with pytest.raises(SystemExit) as info:
        demo.main(SMALL + args)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err


@pytest.mark.parametrize("content", ["", "hello world\n", "1,2\n3,4\n", "a::b::c\n",
                                     "1\t2\tnan\t0\n", "\x00\xff\x10binary"])
def test_malformed_ratings_file_is_a_one_line_error(tmp_path, capsys, content):
    path = tmp_path / "bad.data"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(SystemExit) as info:
        demo.main(SMALL + ["--ratings", str(path)])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a ratings file" in err, err


def test_reads_movielens_1m_double_colon_files(tmp_path):
    rng = np.random.default_rng(0)
    lines = [f"{rng.integers(1, 30)}::{rng.integers(1, 20)}::{rng.integers(1, 6)}::978300760"
             for _ in range(300)]
    path = tmp_path / "ratings.dat"
    path.write_text("\n".join(lines) + "\n")
    users, items, ratings = demo.load_ratings(str(path))
    assert len(ratings) == 300 and ratings.min() >= 1 and ratings.max() <= 5
    assert demo.main(SMALL + ["--ratings", str(path)]) == 0


def test_version_and_help_show_defaults(capsys):
    with pytest.raises(SystemExit) as info:
        demo.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("optimizers-demo ")
    with pytest.raises(SystemExit):
        demo.main(["--help"])
    out = capsys.readouterr().out
    assert "(default: 2000)" in out and "(default: lazyadam)" in out


def test_output_json_has_every_run_and_its_curve(tmp_path):
    out = tmp_path / "results.json"
    assert demo.main(SMALL + ["--optimizer", "sgd,adagrad", "--output", str(out)]) == 0
    import json
    results = json.loads(out.read_text())
    assert [r["optimizer"] for r in results] == ["SGD", "Adagrad"]
    assert all(len(r["loss_curve"]) == 20 and not r["interrupted"] for r in results)


def test_plot_writes_a_png_or_says_what_is_missing(tmp_path, capsys):
    path = tmp_path / "loss.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(SystemExit) as info:
            demo.main(SMALL + ["--plot", str(path)])
        assert info.value.code == 2 and "matplotlib" in capsys.readouterr().err
        return
    assert demo.main(SMALL + ["--optimizer", "sgd,adam", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ctrl_c_ends_the_run_and_prints_the_partial_table(monkeypatch, capsys, tmp_path):
    from optimizers import Adagrad
    calls = {"n": 0}
    original = Adagrad.apply_gradients

    def interrupt_at_step_8(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Adagrad, "apply_gradients", interrupt_at_step_8)
    out = tmp_path / "r.json"
    code = demo.main(SMALL + ["--optimizer", "sgd,adagrad,adam", "--output", str(out)])
    assert code == 130
    text = capsys.readouterr().out
    assert "interrupted after 7 steps of Adagrad" in text
    assert "SGD" in text and "Adagrad" in text and "| Adam " not in text
    import json
    assert [r["steps"] for r in json.loads(out.read_text())] == [20, 7]


def test_progress_is_plain_lines_when_not_a_terminal(capsys):
    assert demo.main(SMALL[:-1] + ["--steps", "100"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and err.count("\n") >= 2 and "step 100/100" in err
