"""The policy files: DOMAIN.md's figures from the district configuration, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy.config import DEFAULT, DISTRICT, PolicyError, load_policy


def test_district_standards_are_740_666_814() -> None:
    policy = load_policy(DISTRICT)
    assert (policy.standard.base, policy.standard.for_area("rural"), policy.standard.for_area("urban")) == (740, 666, 814)
    assert policy.thresholds("urban") == {"standard": 814, "marginal": 1221.0, "watch": 1628.0}


def test_district_has_12_categories_with_coefficients_1_to_1_5_in_7_steps() -> None:
    policy = load_policy(DISTRICT)
    assert len(policy.categories) == 12
    steps = sorted({c.coefficient for c in policy.categories})
    assert len(steps) == 7 and steps[0] == 1.0 and steps[-1] == 1.5
    assert policy.coefficient(["serious_illness", "student"]) == 1.5  # the highest applies
    assert policy.coefficient([]) == 1.0


def test_district_review_cadence_and_gradual_exit() -> None:
    policy = load_policy(DISTRICT)
    assert (policy.review.no_labour_capacity_months, policy.review.stable_income_months, policy.review.unstable_income_months) == (6, 3, 1)
    assert policy.exit.gradual_exit_months == 12


def test_default_matches_the_generator() -> None:
    from ingest.synthetic import POLICY

    policy = load_policy(DEFAULT)
    assert {a: policy.standard.for_area(a) for a in ("urban", "rural")} == {a: POLICY["dibao_standard"][a] for a in ("urban", "rural")}
    assert (policy.maintenance.k, policy.maintenance.share) == (POLICY["maintenance_rule"]["k"], POLICY["maintenance_rule"]["share"])
    assert (policy.multiples.marginal, policy.multiples.watch) == (POLICY["marginal_multiple"], POLICY["watch_multiple"])


@pytest.mark.parametrize(
    "text,message",
    [
        (
            'name = "x"\n[standard]\nbase = 740\n[maintenance]\nshare = 1.5\n',
            "x.toml: maintenance.share: Input should be less than or equal to 1",
        ),
        ('name = "x"\n', "x.toml: standard: Field required"),
        ('name = "x"\n[standard]\nbase = 740\nbse = 1\n', "x.toml: standard.bse: Extra inputs are not permitted"),
        (
            'name = "x"\n[standard]\nbase = 740\n[multiples]\nmarginal = 2.5\nwatch = 2\n',
            "x.toml: multiples: watch must be at least marginal",
        ),
        ('name = "x"\n[standard\n', "x.toml: not valid TOML"),
    ],
)
def test_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value).startswith(message)


def test_a_changed_file_takes_effect_on_the_next_load(tmp_path: Path) -> None:
    path = tmp_path / "region.toml"
    path.write_text(DISTRICT.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_policy(path).standard.for_area("urban") == 814
    path.write_text(DISTRICT.read_text(encoding="utf-8").replace("base = 740", "base = 800"), encoding="utf-8")
    assert load_policy(path).standard.for_area("urban") == 880
