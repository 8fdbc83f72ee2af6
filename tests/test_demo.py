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
            a, b = whole[key], parts[key]
            assert getattr(a, "tobytes", lambda: a)() == getattr(b, "tobytes", lambda: b)(), key


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
