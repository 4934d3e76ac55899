import shutil

import numpy as np
import pandas as pd
import pytest

from nasbench_rank.tables import nb201 as bench
from nasbench_rank.spaces import nb201_cell as space
from nasbench_rank.errors import DataError, UserError


def test_shared_table_is_found_verified_and_fast_to_query(table):
    assert len(table) == 15625
    assert table.verified
    assert table.df["unique_id"].nunique() == 6466


@pytest.mark.parametrize(
    "dataset, metric, index, value",
    [
        ("cifar10", "test", 6111, 94.37), ("cifar100", "test", 9930, 73.51), ("imagenet16", "test", 857, 47.31),
        ("cifar10", "valid", 6111, 91.61), ("cifar100", "valid", 9930, 73.49), ("imagenet16", "valid", 10676, 46.73),
    ],
)
def test_global_optima_match_the_published_ones(table, dataset, metric, index, value):
    best, acc = table.optimum(dataset, metric)
    assert best == index and round(acc, 2) == value


def test_cifar10_test_optimum_is_a_tie(table):
    assert table.optimum_indices("cifar10", "test").tolist() == [6111, 13714]


def test_query_by_cell_index_and_string_agree(table):
    arch = table.df["arch"][1]
    by_index = table.query(1, "cifar10", "test")
    assert table.query(arch, "cifar10", "test") == by_index
    assert table.query(space.parse(arch), "cifar10", "test") == by_index
    assert table.index_of(table.cell_of(1234)) == 1234
    assert np.array_equal(table.indices_of(table.cells[:10]), np.arange(10))


def test_official_dataset_names_and_twelve_epochs(table):
    assert table.query(5, "ImageNet16-120", "valid") == table.query(5, "imagenet16", "valid")
    assert table.query(5, "cifar10-valid", "valid", epochs=12) == table.df["cifar10_valid_12ep"][5]
    assert table.train_seconds("cifar100")[5] == table.df["cifar100_train_seconds"][5]
    with pytest.raises(UserError, match="unknown dataset 'mnist'"):
        table.query(5, "mnist", "valid")
    with pytest.raises(UserError, match="unknown metric"):
        table.query(5, "cifar10", "train")
    with pytest.raises(UserError, match="epochs"):
        table.query(5, "cifar10", "valid", epochs=50)


def test_fractions_are_float32_and_not_truncated(table):
    frac = table.accuracy("cifar10", "test", fraction=True)
    assert frac.dtype == np.float32
    assert 0.94 < frac.max() < 0.95


def _copy(table, tmp_path, mutate=None):
    path = tmp_path / "nb201.csv"
    if mutate is None:
        shutil.copy(table.path, path)
    else:
        df = table.df.copy()
        df = mutate(df)
        df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda df: df.iloc[:-10], "has 15615 rows, expected 15625"),
        (lambda df: df.drop(columns=["cifar100_test"]), "missing columns: cifar100_test"),
        (lambda df: df.assign(cifar10_test=df["cifar10_test"] * 10), "outside 0..100"),
        (lambda df: df.assign(arch=df["arch"].where(df.index != 3, "|bogus~0|")), "malformed architecture"),
        (lambda df: df.assign(arch=df["arch"].where(df.index != 3, df["arch"][4])), "repeats architectures"),
        (lambda df: df.assign(cifar10_valid=df["cifar10_valid"].where(df.index != 3, np.nan)), "empty values in: cifar10_valid"),
    ],
)
def test_corrupted_tables_are_refused_saying_what_differs(table, tmp_path, mutate, message):
    path = _copy(table, tmp_path, mutate)
    with pytest.raises(DataError, match=message):
        bench.load(path)


def test_garbage_file_is_refused(tmp_path):
    path = tmp_path / "nb201.csv"
    path.write_bytes(b"\x00\x01garbage\n")
    with pytest.raises(DataError):
        bench.load(path)


def test_a_different_but_valid_table_loads_unverified(table, tmp_path):
    path = _copy(table, tmp_path, lambda df: df.assign(cifar10_test=df["cifar10_test"].round(1)))
    other = bench.load(path)
    assert not other.verified and len(other) == 15625


def test_lookup_order_explicit_then_environment_then_user_dir(table, tmp_path, monkeypatch):
    env_dir, user_dir = tmp_path / "env", tmp_path / "xdg"
    env_dir.mkdir()
    (user_dir / "nasbench-rank").mkdir(parents=True)
    shutil.copy(table.path, env_dir / "nb201.csv")
    shutil.copy(table.path, user_dir / "nasbench-rank" / "nb201.csv")
    monkeypatch.setenv("XDG_DATA_HOME", str(user_dir))
    monkeypatch.setenv(bench.DATA_ENV, str(env_dir / "nb201.csv"))
    assert bench.locate() == (env_dir / "nb201.csv").resolve()
    monkeypatch.delenv(bench.DATA_ENV)
    assert bench.locate() == (user_dir / "nasbench-rank" / "nb201.csv").resolve()
    assert bench.locate(table.path) == table.path


def test_missing_table_error_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "candidate_paths", lambda explicit=None: [("user data directory", tmp_path / "nope.csv")])
    with pytest.raises(DataError, match="not found.*nope.csv.*data import"):
        bench.load()


def _isolated(monkeypatch, tmp_path):
    """No environment override and an empty user data directory: only the packaged table is left."""
    monkeypatch.delenv(bench.DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-empty"))


def test_packaged_table_is_found_verified_when_nothing_overrides_it(monkeypatch, tmp_path):
    _isolated(monkeypatch, tmp_path)
    found = bench.load()
    assert found.path == bench.packaged_table_path() and found.path.name == "nb201.csv.gz"
    assert found.verified and found.sha256 == bench.BUNDLED_SHA256 and len(found) == 15625


def test_packaged_table_equals_the_published_csv(table, monkeypatch, tmp_path):
    _isolated(monkeypatch, tmp_path)
    pd.testing.assert_frame_equal(bench.load().df, table.df)


def test_packaged_table_is_declared_as_package_data():
    import tomllib
    from pathlib import Path

    root = Path(bench.__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["nasbench_rank"]
    relative = bench.packaged_table_path().relative_to(root / "nasbench_rank")
    assert any(relative.match(g) for g in globs)


def test_gzip_checksum_is_that_of_the_uncompressed_csv(table, tmp_path):
    import gzip

    path = tmp_path / "copy.csv.gz"
    path.write_bytes(gzip.compress(table.path.read_bytes() if table.path.suffix == ".csv" else gzip.decompress(table.path.read_bytes())))
    loaded = bench.load(path)
    assert loaded.verified and loaded.sha256 == bench.BUNDLED_SHA256


def test_environment_pointing_at_a_missing_file_is_an_error_not_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv(bench.DATA_ENV, str(tmp_path / "nope.csv"))
    with pytest.raises(DataError, match=f"{bench.DATA_ENV}.*nope.csv.*does not exist"):
        bench.load()


def test_environment_pointing_at_a_directory_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv(bench.DATA_ENV, str(tmp_path))
    with pytest.raises(DataError, match=f"{bench.DATA_ENV}.*is a directory"):
        bench.load()


def test_explicit_path_to_a_directory_is_an_error(tmp_path):
    with pytest.raises(DataError, match="--data.*is a directory"):
        bench.load(tmp_path)


@pytest.mark.parametrize("content", [b"", b"\x1f\x8b\x08\x00garbled gzip", b"index,arch\n"])
def test_empty_or_garbled_tables_are_refused(tmp_path, content):
    path = tmp_path / ("t.csv.gz" if content.startswith(b"\x1f\x8b") else "t.csv")
    path.write_bytes(content)
    with pytest.raises(DataError):
        bench.load(path)
