"""The lifecycle tables: every row names real states, and a (state, verb) decides one row."""

from __future__ import annotations

from collections import Counter

from flows.domain.states import CycleState, SheetState
from flows.sop.lifecycle import CYCLE, GUARDS, WORKSHEET, Guard, Verb, rule_for


def test_rows_name_real_states_and_one_row_per_state_and_verb():
    for table, states in ((CYCLE, set(CycleState)), (WORKSHEET, set(SheetState))):
        assert all(r.state in states and r.next in states for r in table)
        assert all(n == 1 for n in Counter((r.state, r.verb) for r in table).values())


def test_every_guard_but_the_system_is_a_function():
    assert set(GUARDS) == set(Guard) - {Guard.SYSTEM}


def test_a_closed_cycle_only_reopens_and_an_accepted_sheet_goes_back_at_rekap_or_by_correction():
    assert [r.verb for r in CYCLE if r.state == CycleState.SELESAI] == [Verb.REOPEN]
    assert [r.verb for r in WORKSHEET if r.state == SheetState.ACCEPTED] == [
        Verb.RETURN_AT_REKAP,
        Verb.CORRECT,
    ]
    correct = [r for r in WORKSHEET if r.verb == Verb.CORRECT]
    assert {(r.state, r.guard, r.next) for r in correct} == {
        (SheetState.SUBMITTED, Guard.VERIFIER, SheetState.RETURNED),
        (SheetState.ACCEPTED, Guard.VERIFIER, SheetState.RETURNED),
    }
    assert rule_for(WORKSHEET, SheetState.ACCEPTED, Verb.ACCEPT) is None
    assert rule_for(CYCLE, CycleState.SELESAI, Verb.DECIDE) is None
