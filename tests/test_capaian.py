from decimal import Decimal as D

import pytest

from flows.domain.capaian import (
    DEFAULT_SCALE,
    PredikatScale,
    aggregate,
    average_capaian,
    capaian,
    is_sedang_or_below,
    predikat,
    rasio_value,
    round2,
)


def r2(x: D | None) -> D | None:
    return None if x is None else round2(x)


# --- DOMAIN.md §1 worked checks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "realisasi", "polarity", "kwargs", "expected"),
    [
        (D(95), D(93), "positif", {}, D("97.89")),
        (D(6), D(7), "positif", {}, D("116.67")),
        (D(3), D("2.5"), "negatif", {}, D("116.67")),
        (D(3), D(4), "negatif", {}, D("66.67")),
        (D(3), D(4), "negatif", {"inverse": True}, D("75.00")),
        (D(3), D(7), "negatif", {}, D("0.00")),
        (None, D(92), "positif", {"rentang": (D(80), D(90))}, D("102.22")),
        (None, D("6.5"), "negatif", {"rentang": (D(7), D(8))}, D("107.14")),
        (None, D(103), "stabil", {"rentang": (D(90), D(100))}, D("97.00")),
    ],
)
def test_worked_checks(target, realisasi, polarity, kwargs, expected):
    assert r2(capaian(target, realisasi, polarity, **kwargs)) == expected


def test_raw_value_is_not_rounded():
    assert capaian(D(95), D(93), "positif") == D(93) / D(95) * 100


def test_negatif_formula_equals_kondisi_khusus():
    t, r = D(3), D("2.5")
    assert capaian(t, r, "negatif") == (1 + (1 - r / t)) * 100


# --- ranges ------------------------------------------------------------------------------------


@pytest.mark.parametrize("polarity", ["positif", "negatif"])
@pytest.mark.parametrize("r", [D(80), D(85), D(90)])
def test_range_inside_is_100(polarity, r):
    assert capaian(None, r, polarity, rentang=(D(80), D(90))) == D(100)


def test_range_positif_below_uses_lo():
    assert capaian(None, D(72), "positif", rentang=(D(80), D(90))) == D(90)


def test_range_negatif_above_uses_hi():
    # (2×8 − 9) / 8 × 100
    assert capaian(None, D(9), "negatif", rentang=(D(7), D(8))) == D("87.5")


def test_range_overrides_target_and_accepts_reversed_bounds():
    assert r2(capaian(D(50), D(92), "positif", rentang=(D(90), D(80)))) == D("102.22")


# --- stabil ------------------------------------------------------------------------------------


def test_stabil_band():
    band = (D(90), D(100))
    assert capaian(None, D(95), "stabil", rentang=band) == D(100)
    assert capaian(None, D(90), "stabil", rentang=band) == D(100)
    assert capaian(None, D(100), "stabil", rentang=band) == D(100)
    assert capaian(None, D(81), "stabil", rentang=band) == D(90)
    assert capaian(None, D(250), "stabil", rentang=band) == D(0)  # floored


def test_stabil_without_range_uses_target_as_band():
    assert capaian(D(10), D(10), "stabil") == D(100)
    assert capaian(D(10), D(8), "stabil") == D(80)
    assert capaian(D(10), D(11), "stabil") == D(90)


# --- zero / missing ----------------------------------------------------------------------------


def test_negatif_zero_target():
    assert capaian(D(0), D(0), "negatif") == D(100)
    assert capaian(D(0), D(1), "negatif") == D(0)
    assert capaian(D(0), D(0), "negatif", inverse=True) == D(100)


def test_positif_zero_or_empty_target_is_na():
    assert capaian(D(0), D(5), "positif") is None
    assert capaian(None, D(5), "positif") is None


def test_realisasi_not_reported_is_none_but_zero_is_measured():
    assert capaian(D(10), None, "positif") is None
    assert capaian(D(3), None, "negatif") is None
    assert capaian(D(10), D(0), "positif") == D(0)
    assert capaian(D(3), D(0), "negatif") == D(200)


def test_inverse_undefined_at_zero_realisasi():
    assert capaian(D(3), D(0), "negatif", inverse=True) is None


def test_inverse_ignored_for_positif():
    assert capaian(D(4), D(3), "positif", inverse=True) == D(75)


def test_polarity_is_normalised_and_validated():
    assert capaian(D(4), D(3), " Positif ") == D(75)
    with pytest.raises(ValueError):
        capaian(D(4), D(3), "naik")


def test_round2_half_up():
    assert round2(D("97.885")) == D("97.89")
    assert round2(D("0.005")) == D("0.01")
    assert round2(D("2.675")) == D("2.68")


# --- predikat (DOMAIN.md §2) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("c", "label"),
    [
        (D("150"), "Sangat Tinggi"),
        (D("100"), "Sangat Tinggi"),
        (D("90.01"), "Sangat Tinggi"),
        (D("90"), "Tinggi"),
        (D("75.01"), "Tinggi"),
        (D("75"), "Sedang"),
        (D("65.01"), "Sedang"),
        (D("65"), "Rendah"),
        (D("50.01"), "Rendah"),
        (D("50"), "Sangat Rendah"),
        (D("0"), "Sangat Rendah"),
    ],
)
def test_predikat_boundaries(c, label):
    assert predikat(c) == label


def test_predikat_uses_displayed_rounding():
    assert predikat(D("90.004")) == "Tinggi"  # shown as 90,00%
    assert predikat(D("90.005")) == "Sangat Tinggi"  # shown as 90,01%


def test_predikat_none_is_na():
    assert predikat(None) is None


def test_is_sedang_or_below_default():
    assert [is_sedang_or_below(lbl) for lbl in DEFAULT_SCALE.labels] == [
        False,
        False,
        True,
        True,
        True,
    ]
    assert is_sedang_or_below(None) is False
    with pytest.raises(ValueError):
        is_sedang_or_below("Luar Biasa")


CUSTOM = [
    {"predikat": "Sangat Kurang"},
    {"di_atas": 75, "predikat": "Baik"},
    {"di_atas": 90, "predikat": "Sangat Baik"},
    {"di_atas": "65", "predikat": "Cukup"},
    {"di_atas": 50.5, "predikat": "Kurang"},
]


def test_scale_from_config():
    scale = PredikatScale.from_config(CUSTOM)
    assert scale.labels == ("Sangat Baik", "Baik", "Cukup", "Kurang", "Sangat Kurang")
    assert predikat(D(95), scale) == "Sangat Baik"
    assert predikat(D("50.5"), scale) == "Sangat Kurang"
    assert predikat(D("50.51"), scale) == "Kurang"
    # attention level defaults to the middle level
    assert not is_sedang_or_below("Baik", scale)
    assert is_sedang_or_below("Cukup", scale)


def test_scale_from_config_attention_label():
    scale = PredikatScale.from_config(CUSTOM, attention_label="Kurang")
    assert not is_sedang_or_below("Cukup", scale)
    assert is_sedang_or_below("Kurang", scale)


def test_scale_from_config_needs_one_floor():
    with pytest.raises(ValueError):
        PredikatScale.from_config([{"di_atas": 50, "predikat": "A"}])
    with pytest.raises(ValueError):
        PredikatScale.from_config([{"predikat": "A"}, {"di_atas": None, "predikat": "B"}])


def test_scale_rejects_duplicate_bounds():
    with pytest.raises(ValueError):
        PredikatScale.from_config(
            [{"di_atas": 50, "predikat": "A"}, {"di_atas": 50, "predikat": "B"}, {"predikat": "C"}]
        )


# --- aggregation (DOMAIN.md §3) ----------------------------------------------------------------


def test_kumulatif_sums_reported_quarters_only():
    assert aggregate([D(3), None, D(4)], "kumulatif") == D(7)
    assert aggregate([D(0), None], "kumulatif") == D(0)
    assert aggregate([None, None], "kumulatif") is None
    assert aggregate([], "kumulatif") is None


def test_terakhir_takes_last_reported():
    assert aggregate([D(70), D(80), None], "terakhir") == D(80)
    assert aggregate([D(70), D(0)], "terakhir") == D(0)
    assert aggregate([None, None, None, None], "terakhir") is None


def test_rata_rata_means_reported_quarters():
    assert aggregate([D(90), None, D(96)], "rata-rata") == D(93)  # not (90+0+96)/3
    assert aggregate([None], "rata-rata") is None
    assert aggregate([D(1), D(2)], "rata_rata") == D("1.5")


def test_rasio_sums_numerators_and_denominators():
    nums = [D(45), None, D(50), D(10)]
    dens = [D(50), D(40), D(50), None]
    # only quarters with both figures: (45 + 50) / (50 + 50)
    assert aggregate([], "rasio", numerators=nums, denominators=dens) == D(95)
    assert aggregate([], "rasio", numerators=[D(1)], denominators=[D(0)]) is None
    assert aggregate([], "rasio", numerators=[None], denominators=[None]) is None
    assert aggregate([D(5)], "rasio") is None


def test_rasio_lengths_must_match():
    with pytest.raises(ValueError):
        aggregate([], "rasio", numerators=[D(1), D(2)], denominators=[D(2)])


def test_unknown_aggregation():
    with pytest.raises(ValueError):
        aggregate([D(1)], "median")


def test_rasio_value():
    assert rasio_value(D(19), D(20)) == D(95)
    assert rasio_value(D(0), D(20)) == D(0)
    assert rasio_value(D(1), D(0)) is None
    assert rasio_value(None, D(20)) is None
    assert rasio_value(D(1), None) is None


# --- averages ----------------------------------------------------------------------------------


def test_average_clamps_to_0_120_and_skips_na():
    assert average_capaian([D(150), D(90), None]) == D(105)  # (120 + 90) / 2
    assert average_capaian([D(-10), D(100)]) == D(50)


def test_average_without_clamp():
    assert average_capaian([D(150), D(90)], clamp=None) == D(120)


def test_average_custom_clamp_and_empty():
    assert average_capaian([D(150), D(90)], clamp=(D(0), D(100))) == D(95)
    assert average_capaian([None, None]) is None
    assert average_capaian([]) is None
