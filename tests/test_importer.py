import numpy as np
import pandas as pd
import pytest
import torch

from nasbench_rank.tables import nb201 as bench, nb201_import as importer
from nasbench_rank.errors import DataError

from official_format import official_dict

SUBSET = 300


@pytest.fixture(scope="module")
def imported(table) -> pd.DataFrame:
    return importer.convert(official_dict(table.df.iloc[:SUBSET]), reference=table)


def test_import_reproduces_the_table_columns_from_the_official_format(table, imported):
    expected = table.df.iloc[:SUBSET]
    assert list(imported.columns) == list(bench.COLUMNS)
    assert (imported["arch"].to_numpy() == expected["arch"].to_numpy()).all()
    for column in bench.COLUMNS:
        if column not in ("arch", "unique_id"):
            assert np.allclose(imported[column].to_numpy(float), expected[column].to_numpy(float)), column
    # unique ids renumbered in first-occurrence order: the same partition of the cells
    assert (pd.factorize(expected["unique_id"])[0] == imported["unique_id"].to_numpy()).all()


def test_imported_rows_round_trip_through_the_loader_unverified(table, imported, tmp_path):
    merged = table.df.copy()
    merged.iloc[:SUBSET, [merged.columns.get_loc(c) for c in bench.COLUMNS if c != "unique_id"]] = \
        imported[[c for c in bench.COLUMNS if c != "unique_id"]].to_numpy()
    path = tmp_path / "imported.csv"
    importer.write_atomic(merged, path)
    loaded = bench.load(path)
    assert not loaded.verified
    assert np.allclose(loaded.accuracy("cifar100", "test")[:SUBSET], table.accuracy("cifar100", "test")[:SUBSET])
    assert loaded.optimum("imagenet16", "valid") == pytest.approx(table.optimum("imagenet16", "valid"), abs=1e-4)


def test_without_reference_unique_ids_come_from_the_functional_form(table):
    df = importer.convert(official_dict(table.df.iloc[:40]))
    assert df["unique_id"].min() == 0 and df["unique_id"].max() < 40


def test_cli_import_writes_a_partial_table_and_says_so(table, tmp_path):
    from click.testing import CliRunner

    from nasbench_rank.cli import cli

    source = tmp_path / "NAS-Bench-201-small.pth"
    torch.save(official_dict(table.df.iloc[:5]), source)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(cli, ["data", "import", str(source), "-o", str(out), "--reference", str(table.path)])
    assert result.exit_code == 0, result.output
    assert "wrote 5 rows" in result.output and "partial" in result.output
    assert len(pd.read_csv(out)) == 5


def test_a_file_that_is_not_a_benchmark_is_refused(tmp_path):
    source = tmp_path / "bad.pth"
    torch.save({"something": 1}, source)
    with pytest.raises(DataError, match="not a NAS-Bench-201 benchmark file"):
        importer.convert(str(source))
