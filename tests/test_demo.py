"""The demo trains (loss falls) on synthetic data and on MovieLens-style files."""
import numpy as np
import pytest

from optimizers import demo


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
