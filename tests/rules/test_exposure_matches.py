"""exposure_matches answers once per call for each value set, drug and code: the same answer
as matching every exposure afresh, whatever the order of the questions."""

from __future__ import annotations

import datetime as dt

from rules import load_kb
from rules.predicates import Context, _agent_codes, exposure_matches
from tests.rules.test_rule_index import PATIENTS

KB = load_kb()
DRUG_SETS = [v for v in KB.valuesets.ids() if KB.valuesets.kind(v) in {"drug", "drug-group"}]


def test_memoised_matches_equal_fresh_matches_on_every_patient() -> None:
    asked = 0
    for _name, patient, as_of in PATIENTS:
        ctx = Context(patient, KB.valuesets, as_of or dt.date(2026, 11, 30), "order-sign", ())
        for exposure in patient.exposures:
            codes = _agent_codes(exposure.agent.rxnorm, exposure.agent.atc)
            if exposure.code is not None:
                codes.append((exposure.code.system, exposure.code.code))
            for vs_id in DRUG_SETS:
                fresh = KB.valuesets.matches(vs_id, codes, exposure.agent.ingredient)
                assert exposure_matches(ctx, vs_id, exposure) is fresh
                assert exposure_matches(ctx, vs_id, exposure) is fresh  # from the memo
                asked += 1
    assert asked > 1000


def test_name_match_equals_the_whole_word_search() -> None:
    """One-word texts are matched by a set lookup, others by the pattern: the same answers as
    searching every text with the pattern."""
    from rules.valuesets import _NO_NAMES, _names_pattern

    vs = KB.valuesets
    names = {name for vs_id in vs.ids() for name in vs.get(vs_id).names}
    texts = set(names)
    for name in names:
        texts |= {name.upper(), f"({name} 100 mg)", f"x{name}", name[:-1]}
    texts |= {"K", "é", "imatinib\u00e9", "\u212aIT", "ibé", "5-fu", "a b"}
    single = 0
    for vs_id in vs.ids():
        pattern = _names_pattern(vs.get(vs_id).names)
        for text in texts:
            expected = pattern is not _NO_NAMES and pattern.search(text.lower()) is not None
            assert vs.matches_name(vs_id, text) is expected, (vs_id, text)
            single += text.lower().isalnum()
    assert single > 1000
