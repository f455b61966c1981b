"""Period figures (DOMAIN.md §1 and §3): ranges in every period, kumulatif as quarter amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from flows.domain.capaian import round2
from flows.domain.measure import (
    Reported,
    Targets,
    amount_from_sd,
    figures,
    range_for,
    range_side,
    sd_before,
)

D = Decimal


def level(agg: str = "terakhir", pol: str = "positif", **kw) -> Targets:  # noqa: ANN003
    return Targets(pol, agg, D(90), (D(80), D(80), D(85), D(90)), rentang=(D(80), D(90)), **kw)


def answer(agg: str, value: int) -> Reported:
    if agg == "rasio":
        return Reported(D(value), D(value), D(100))
    return Reported(D(value))


@pytest.mark.parametrize("agg", ["terakhir", "rata-rata", "rasio"])
@pytest.mark.parametrize("q", [1, 2, 3, 4])
def test_a_level_range_applies_in_every_quarter(agg: str, q: int) -> None:
    t = level(agg)
    above = figures(t, {q: answer(agg, 92)}, (q,))
    assert round2(above.capaian_sd) == D("102.22")  # hi (90) used as T
    assert above.sisi_rentang == "atas" and above.rentang_sd == (D(80), D(90))
    inside = figures(t, {q: answer(agg, 85)}, (q,))
    assert inside.capaian_sd == 100 and inside.sisi_rentang == "dalam"
    below = figures(t, {q: answer(agg, 72)}, (q,))
    assert below.capaian_sd == 90 and below.sisi_rentang == "bawah"  # 72 / lo 80


@pytest.mark.parametrize("q", [1, 2, 3])
def test_negatif_and_stabil_ranges_apply_before_tw_iv(q: int) -> None:
    neg = Targets("negatif", "terakhir", D(8), (D(8),) * 4, rentang=(D(7), D(8)))
    assert round2(figures(neg, {q: Reported(D("6.5"))}, (q,)).capaian_sd) == D("107.14")
    stab = Targets("stabil", "rata-rata", D(100), (D(100),) * 4, rentang=(D(90), D(100)))
    assert figures(stab, {q: Reported(D(103))}, (q,)).capaian_sd == D(97)


def test_a_level_quarter_with_its_own_target_outside_the_range_keeps_it() -> None:
    serapan = Targets(
        "positif", "terakhir", D(95), (D(20), D(45), D(70), D(95)), rentang=(D(90), D(100))
    )
    tw3 = figures(serapan, {3: Reported(D("68.4"))}, (3,))
    assert round2(tw3.capaian_sd) == D("97.71") and tw3.rentang_sd is None  # 68,4 / 70
    tw4 = figures(serapan, {4: Reported(D("88.2"))}, (4,))
    assert tw4.capaian_sd == 98 and tw4.sisi_rentang == "bawah"  # 88,2 / 90


def test_a_kumulatif_range_is_annual_unless_the_quarter_has_its_own() -> None:
    t = Targets("positif", "kumulatif", D(12), (D(3), D(6), D(9), D(12)), rentang=(D(10), D(14)))
    tw2 = figures(t, {1: Reported(D(3)), 2: Reported(D(2))}, (2,))
    assert round2(tw2.capaian_sd) == D("83.33")  # 5 / 6: the annual range is not the TW II target
    assert tw2.rentang_sd is None and tw2.sisi_rentang is None
    assert tw2.capaian_tahunan == D(50)  # 5 below lo 10 → 5 / 10
    tw4 = figures(
        t, {1: Reported(D(3)), 2: Reported(D(3)), 3: Reported(D(3)), 4: Reported(D(4))}, (4,)
    )
    assert tw4.realisasi_sd == 13 and tw4.capaian_sd == 100 and tw4.sisi_rentang == "dalam"
    own = Targets(
        "positif", "kumulatif", D(12), (D(3), D(6), D(9), D(12)), rentang=(D(10), D(14)),
        rentang_tw=(None, (D(5), D(7)), None, None),
    )  # fmt: skip
    assert range_for(own, 2) == (D(5), D(7)) and range_for(own, 3) is None
    assert figures(own, {1: Reported(D(3)), 2: Reported(D(2))}, (2,)).capaian_sd == 100


def test_kumulatif_answers_are_quarter_amounts_summed() -> None:
    t = Targets("positif", "kumulatif", D(12), (D(3), D(6), D(9), D(12)))
    rep = {1: Reported(D(3)), 2: Reported(D(2)), 3: Reported(D(2)), 4: Reported(D(5))}
    f = figures(t, rep, (3,))
    assert f.realisasi_periode == 2 and f.realisasi_sd == 7
    assert round2(f.capaian_sd) == D("77.78")  # 7 / 9
    sem2 = figures(t, rep, (3, 4))
    assert sem2.realisasi_periode == 7 and sem2.realisasi_sd == 12 and sem2.capaian_sd == 100
    assert sd_before(t, rep, 3) == 5 and sd_before(t, rep, 1) == 0
    assert sd_before(t, {1: Reported(D(3)), 3: Reported(D(1))}, 4) == 4  # TW II not reported


def test_an_sd_answer_below_last_quarter_is_refused() -> None:
    assert amount_from_sd(D(7), D(5)) == 2
    assert amount_from_sd(D(5), D(5)) == 0
    assert amount_from_sd(D(4), D(5)) is None


def test_range_side() -> None:
    assert range_side(D(1), None) is None and range_side(None, (D(1), D(2))) is None
    assert [range_side(D(v), (D(2), D(3))) for v in (1, 2, 3, 4)] == [
        "bawah", "dalam", "dalam", "atas",
    ]  # fmt: skip
