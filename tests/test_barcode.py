"""Barcodes from nearest-ULE counts, entry order and column names."""

import numpy as np
import pandas as pd
import pytest

from mgbarcode import barcode


def test_barcodes_sum_to_one_and_zero_rows_are_flagged():
    counts = np.array([[5, 1, 3, 0, 2],
                       [0, 7, 0, 0, 0],   # no atom at a top ULE
                       [1, 0, 1, 4, 0]])
    top = np.array([3, 0, 2])
    s, zero = barcode.barcodes(counts, top)
    assert s.shape == (3, 3) and s.dtype == np.float64
    assert list(zero) == [False, True, False]
    assert np.allclose(s[~zero].sum(axis=1), 1.0)
    assert np.array_equal(s[1], np.zeros(3))
    assert np.allclose(s[0], [0, 5 / 8, 3 / 8])
    assert np.allclose(s[2], [4 / 6, 1 / 6, 1 / 6])
    with pytest.raises(ValueError):
        barcode.barcodes(counts, [0, 5])


def test_order_puts_group1_first_in_rank_order():
    top = pd.DataFrame({"rank": [1, 2, 3, 4, 5], "ule_id": [10, 11, 12, 13, 14],
                        "group": [2, 1, 2, 1, 1]})
    ordered = barcode.order_top_ules(top)
    assert list(ordered["ule_id"]) == [11, 13, 14, 10, 12]
    assert list(ordered["entry"]) == [1, 2, 3, 4, 5]
    assert list(ordered["barcode_column"]) == ["s_01", "s_02", "s_03", "s_04", "s_05"]


def test_column_names_sort_in_entry_order():
    assert barcode.barcode_column_names(3) == ["s_01", "s_02", "s_03"]
    names = barcode.barcode_column_names(120)
    assert names[0] == "s_001" and names[-1] == "s_120" and sorted(names) == names
    table = barcode.barcode_table(["a", "b"], np.eye(2), np.array([False, False]), [7, 9])
    assert list(table.columns) == ["sample_id", "n_top", "zero_barcode", "s_01", "s_02"]
    assert table["n_top"].tolist() == [7, 9]


def test_k_larger_than_the_dictionary_is_refused():
    from mgbarcode.barcode import check_k
    from mgbarcode.errors import InputError

    check_k(40, 40, "my.yaml")
    with pytest.raises(InputError, match=r"my.yaml: barcode.k: K = 41 but the dictionary has only 40 ULEs"):
        check_k(41, 40, "my.yaml")
