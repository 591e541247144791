"""The language a follower writes in, for routing: Simplified Chinese, Traditional Chinese
or English, else "unknown".

Three sources, strongest first:
1. **choice**: the whole message is a language code the account offers ("TC", "SC",
   "EN", or the words 繁體 / 简体 / English). A follower answering the welcome message's
   "reply TC, SC or EN" has said what they want, whatever their phone is set to.
2. **profile**: the language WeChat reports for the follower (zh_CN, zh_TW, zh_HK, en).
3. **text**: detected from the message itself.

Detection on text: lingua, restricted to English and Chinese, tells the language;
Japanese and Korean are in its set only so that kana or hangul (whose messages may hold
Han characters) read as "unknown" rather than Chinese. Any Chinese character makes the
message Chinese: followers write Chinese around English words ("明天check in",
"wifi密码多少"), hardly ever the other way round. hanzidentifier then tells Simplified
from Traditional by counting the characters that exist in one script only; a message of
characters both scripts share ("你好") reads as Simplified, the mainland's script, with
less confidence.

Confidence is the evidence times the certainty of the reading. Evidence grows with the
length of the message: a Chinese character counts two, a Latin letter one, and four count
as full evidence, so "ok", "hi" or a lone "好" stay below the threshold. WeChat's sticker
codes ("[Smile]", "[微笑]") are inserted by the app, not typed, and are removed first;
digits, emoji and punctuation carry nothing. Below `THRESHOLD` (0.6) the answer is
"unknown": routing then uses the account's own language instead of a guess.

Plain functions, no database. The lingua detector is built once per process, on the first
message that needs it (a choice or a profile never does), in lingua's low-accuracy mode:
on these short messages it reads as well as the full mode and builds in a fraction of the
time (bench/language.py).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import hanzidentifier
from lingua import Language, LanguageDetector, LanguageDetectorBuilder

# The portal's codes, as Membership.languages and the prepared responses spell them.
SIMPLIFIED = "zh-hans"
TRADITIONAL = "zh-hant"
ENGLISH = "en"
UNKNOWN = "unknown"
LANGUAGES = (ENGLISH, SIMPLIFIED, TRADITIONAL)

THRESHOLD = 0.6
# A message of characters shared by both scripts reads as Simplified with this certainty.
SHARED_SCRIPT_CERTAINTY = 0.7
_FULL_EVIDENCE = 4
# lingua's trigram-only mode: as accurate as the full one on the labelled set
# (tests/routing/language_samples.tsv), faster to build and to run (bench/language.py).
LOW_ACCURACY = True

_CHOICES = {
    "tc": TRADITIONAL, "繁": TRADITIONAL, "繁體": TRADITIONAL, "繁体": TRADITIONAL,
    "繁體中文": TRADITIONAL, "繁体中文": TRADITIONAL,
    "sc": SIMPLIFIED, "简": SIMPLIFIED, "简体": SIMPLIFIED, "簡體": SIMPLIFIED,
    "简体中文": SIMPLIFIED, "簡體中文": SIMPLIFIED,
    "en": ENGLISH, "eng": ENGLISH, "english": ENGLISH, "英文": ENGLISH,
}
_PROFILE = {
    "zh": SIMPLIFIED, "zh-cn": SIMPLIFIED, "zh-sg": SIMPLIFIED, "zh-hans": SIMPLIFIED,
    "zh-tw": TRADITIONAL, "zh-hk": TRADITIONAL, "zh-mo": TRADITIONAL, "zh-hant": TRADITIONAL,
    "en": ENGLISH, "en-us": ENGLISH, "en-gb": ENGLISH,
}
# WeChat's sticker codes: a short bracketed name on one line ("[Smile]", "[Thumbs Up]").
_STICKER = re.compile(r"\[[^\[\]\n]{1,12}\]")
_DETECTED = (Language.ENGLISH, Language.CHINESE)
_GUARDS = (Language.JAPANESE, Language.KOREAN)


@dataclass(frozen=True)
class Detection:
    language: str  # one of LANGUAGES, or UNKNOWN
    source: str  # "choice", "profile" or "text"
    confidence: float  # 0..1; 1.0 for a choice or a profile


def language_from_profile(code: str | None) -> str | None:
    """The portal's code for a WeChat profile language (zh_CN, zh_TW, en...), else None."""
    key = (code or "").strip().lower().replace("_", "-")
    return _PROFILE.get(key)


def language_chosen(text: str) -> str | None:
    """The language a message names when it is nothing but a choice code ("TC", " sc!")."""
    key = "".join(c for c in text.casefold() if not _is_filler(c))
    return _CHOICES.get(key)


def language_of(*, text: str, profile_language: str | None) -> Detection:
    """The follower's language: their explicit choice, else their profile, else the text."""
    chosen = language_chosen(text)
    if chosen:
        return Detection(chosen, "choice", 1.0)
    from_profile = language_from_profile(profile_language)
    if from_profile:
        return Detection(from_profile, "profile", 1.0)
    return language_of_text(text)


def language_of_text(text: str) -> Detection:
    """Detect from the text alone; "unknown" below THRESHOLD."""
    text = _STICKER.sub(" ", text)
    han = [c for c in text if hanzidentifier.has_chinese(c)]
    letters = sum(1 for c in text if c.isalpha()) - len(han)
    if not han and not letters:
        return Detection(UNKNOWN, "text", 0.0)
    values = _detector().compute_language_confidence_values(text)
    top = values[0]
    if top.language in _GUARDS and top.value >= THRESHOLD:
        return Detection(UNKNOWN, "text", 0.0)  # none of the portal's languages
    if han:
        language, certainty = _script(han)
        evidence = 2 * len(han)
    else:
        language = ENGLISH
        certainty = next(v.value for v in values if v.language == Language.ENGLISH)
        evidence = letters
    confidence = round(min(1.0, evidence / _FULL_EVIDENCE) * certainty, 3)
    if confidence < THRESHOLD:
        return Detection(UNKNOWN, "text", confidence)
    return Detection(language, "text", confidence)


def _script(han: list[str]) -> tuple[str, float]:
    """Simplified or Traditional, and how sure, from characters of one script only."""
    simplified = sum(1 for c in han if not hanzidentifier.is_traditional(c))
    traditional = sum(1 for c in han if not hanzidentifier.is_simplified(c))
    if not simplified and not traditional:
        return SIMPLIFIED, SHARED_SCRIPT_CERTAINTY
    if traditional > simplified:
        return TRADITIONAL, traditional / (simplified + traditional)
    return SIMPLIFIED, simplified / (simplified + traditional)


def _is_filler(c: str) -> bool:
    return c.isspace() or unicodedata.category(c)[0] in "PSZ"


def build_detector(*, low_accuracy: bool = LOW_ACCURACY) -> LanguageDetector:
    """A new lingua detector over the portal's languages and the guards (slow: use
    `_detector()`, which builds one per process; the benchmark compares both modes)."""
    builder = LanguageDetectorBuilder.from_languages(*_DETECTED, *_GUARDS)
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    return builder.with_preloaded_language_models().build()


@cache
def _detector() -> LanguageDetector:
    """Built on the first message that needs it, then shared by the process."""
    return build_detector()
