"""A follower's language: an explicit choice, else the WeChat profile, else the text
(routing/language.py), with accuracy per language over a labelled set of short messages."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from routing import language
from routing.language import (
    ENGLISH,
    SIMPLIFIED,
    THRESHOLD,
    TRADITIONAL,
    UNKNOWN,
    language_from_profile,
    language_of,
)

SAMPLES = Path(__file__).with_name("language_samples.tsv")
FLOOR = 0.90


def _samples() -> list[tuple[str, str]]:
    with SAMPLES.open(encoding="utf-8", newline="") as f:
        return [(r["text"], r["expected"])
                for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


@pytest.mark.parametrize(("text", "expected"), [
    ("hi 你好", SIMPLIFIED),
    ("請問幾點關門", TRADITIONAL),
    ("price?", ENGLISH),
    ("有繁體菜單嗎", TRADITIONAL),
    ("wifi密码多少", SIMPLIFIED),
    ("明天check in", SIMPLIFIED),
    ("ok謝謝", TRADITIONAL),
    ("冇熱水，房間1203", TRADITIONAL),
    ("Do you have parking", ENGLISH),
    ("😀👍", UNKNOWN),
    ("12345", UNKNOWN),
    ("[Smile]", UNKNOWN),
    ("[微笑][微笑]", UNKNOWN),
    ("ok", UNKNOWN),
    ("好", UNKNOWN),
    ("", UNKNOWN),
    ("ありがとう", UNKNOWN),
])
def test_text(text: str, expected: str) -> None:
    found = language_of(text=text, profile_language=None)
    assert found.language == expected
    if expected == UNKNOWN:
        assert found.confidence < THRESHOLD
    else:
        assert found.source == "text"
        assert found.confidence >= THRESHOLD


@pytest.mark.parametrize(("text", "expected"), [
    ("TC", TRADITIONAL), ("SC", SIMPLIFIED), ("EN", ENGLISH),
    ("tc", TRADITIONAL), (" Sc! ", SIMPLIFIED), ("en.", ENGLISH),
    ("繁體", TRADITIONAL), ("简体", SIMPLIFIED), ("簡體", SIMPLIFIED), ("English", ENGLISH),
])
def test_an_explicit_choice_wins_over_profile_and_script(text: str, expected: str) -> None:
    # 簡體 is written in Traditional characters, yet asks for Simplified.
    for profile in (None, "zh_CN", "zh_TW", "en"):
        assert language_of(text=text, profile_language=profile) == language.Detection(
            expected, "choice", 1.0)


def test_a_code_inside_a_sentence_is_not_a_choice() -> None:
    found = language_of(text="TC or SC?", profile_language=None)
    assert found.source == "text"
    assert found.language == ENGLISH


@pytest.mark.parametrize(("profile", "text", "expected"), [
    ("zh_CN", "price?", SIMPLIFIED),
    ("zh_TW", "wifi密码多少", TRADITIONAL),
    ("zh_HK", "hello", TRADITIONAL),
    ("en", "請問幾點關門", ENGLISH),
    ("en_US", "😀", ENGLISH),
])
def test_the_profile_beats_the_text(profile: str, text: str, expected: str) -> None:
    assert language_of(text=text, profile_language=profile) == language.Detection(
        expected, "profile", 1.0)


@pytest.mark.parametrize(("profile", "text", "expected"), [
    ("", "請問幾點關門", TRADITIONAL),
    ("fr", "price?", ENGLISH),
    ("ja", "你好", SIMPLIFIED),
])
def test_an_empty_or_foreign_profile_falls_back_to_the_text(
    profile: str, text: str, expected: str
) -> None:
    found = language_of(text=text, profile_language=profile)
    assert (found.language, found.source) == (expected, "text")


@pytest.mark.parametrize(("code", "expected"), [
    ("zh_CN", SIMPLIFIED), ("zh-cn", SIMPLIFIED), ("zh_TW", TRADITIONAL),
    ("zh_HK", TRADITIONAL), ("zh_MO", TRADITIONAL), ("en", ENGLISH), ("en_GB", ENGLISH),
    ("zh-hans", SIMPLIFIED), ("zh-hant", TRADITIONAL),
    ("fr", None), ("", None), (None, None),
])
def test_language_from_profile(code: str | None, expected: str | None) -> None:
    assert language_from_profile(code) == expected


def test_the_codes_are_the_portals() -> None:
    from messaging.prepared import LANGUAGES

    assert set(language.LANGUAGES) == set(LANGUAGES)


def test_accuracy_per_language_over_the_labelled_set() -> None:
    samples = _samples()
    total, right = Counter(), Counter()
    misses = []
    for text, expected in samples:
        found = language_of(text=text, profile_language=None)
        total[expected] += 1
        if found.language == expected:
            right[expected] += 1
        else:
            misses.append(f"  {text!r}: {found.language} ({found.confidence}), "
                          f"expected {expected}")
    print(f"\n{'language':<10}{'right':>7}{'total':>7}{'accuracy':>10}")
    for code in (SIMPLIFIED, TRADITIONAL, ENGLISH, UNKNOWN):
        print(f"{code:<10}{right[code]:>7}{total[code]:>7}{right[code] / total[code]:>10.1%}")
    print("misses:", *misses, sep="\n")
    assert len(samples) >= 240
    assert all(total[code] >= 80 for code in (SIMPLIFIED, TRADITIONAL, ENGLISH))
    assert total[UNKNOWN] >= 20
    for code in (SIMPLIFIED, TRADITIONAL, ENGLISH, UNKNOWN):
        assert right[code] / total[code] >= FLOOR, code


def test_the_detector_is_built_once_and_only_when_text_needs_it(monkeypatch) -> None:
    builds = []
    real = language.build_detector

    def counting(**kwargs):
        builds.append(1)
        return real(**kwargs)

    monkeypatch.setattr(language, "build_detector", counting)
    language._detector.cache_clear()
    try:
        language_of(text="TC", profile_language=None)
        language_of(text="price?", profile_language="zh_CN")
        assert builds == []
        language_of(text="price?", profile_language=None)
        language_of(text="請問幾點關門", profile_language=None)
        assert builds == [1]
    finally:
        language._detector.cache_clear()
