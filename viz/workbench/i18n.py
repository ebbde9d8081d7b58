"""The workbench's languages: Simplified Chinese by default, English on request, from Babel catalogues.

Every text the pages show is written once, in English, in a template or here (``_("...")``), and
translated in ``locale/zh_Hans/LC_MESSAGES/messages.po``. Codes (programmes, finding kinds, need
categories, referral levels...) are shown as the field's terms through a message context per
field, ``term("urgency", "urgent_intervention")`` → 紧急干预; both catalogues hold those, the
English one as plain words. Reasons the queries write in English (``queries.reasons``) are parsed
back into their template and values and shown from the translated template.

>>> zh = Language.get("zh")
>>> zh.term("urgency", "urgent_intervention"), zh.term("referral", "village_window")
('紧急干预', '村级窗口')
>>> Language.get("en").term("urgency", "urgent_intervention")
'Urgent intervention'
>>> zh.reason("capacity left 3 of 8")
'剩余容量 3/8'
"""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from queries import reasons

__all__ = ["LANGUAGES", "Language", "local_name"]

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: The switch's choices: cookie value → (Babel locale folder, HTML lang).
LANGUAGES = {"zh": ("zh_Hans", "zh-CN"), "en": ("en", "en")}
_CJK_THEN_LATIN = re.compile(r"^([\u3400-\u9fff（）·]+)\s+([A-Za-z].*)$")


def local_name(name: str | None, lang: str) -> str:
    """A bilingual name from the data ("最低生活保障 minimum living guarantee") in one language.

    >>> local_name("最低生活保障 minimum living guarantee", "zh"), local_name("民政局 civil affairs", "en")
    ('最低生活保障', 'civil affairs')
    """
    if not name:
        return ""
    m = _CJK_THEN_LATIN.match(name)
    if m is None:
        return name
    return m.group(1) if lang == "zh" else m.group(2)


class Language:
    """One language's translations, terms and reason texts."""

    def __init__(self, code: str):
        folder, self.html_lang = LANGUAGES[code]
        self.code = code
        with (LOCALE_DIR / folder / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalog = read_po(po, locale=folder)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        self.translations = Translations(buffer)

    @staticmethod
    @cache
    def get(code: str) -> Language:
        return Language(code if code in LANGUAGES else "zh")

    def gettext(self, text: str) -> str:
        return self.translations.gettext(text)

    def term(self, field: str, code: Any) -> str:
        """The field's word for ``code``; the code itself when the catalogue has none (data the
        catalogue does not know, shown as it is rather than hidden)."""
        if code is None or code == "":
            return ""
        return self.translations.pgettext(field, str(code))

    def terms(self, field: str, text: Any) -> str:
        """Several codes joined with "; " (an obligor owing on two grounds), each as its term."""
        return "；".join(self.term(field, part) for part in str(text or "").split("; ") if part)

    def reason(self, text: str) -> str:
        """A reason a query wrote (``queries.reasons``), in this language; other text as it is."""
        found = reasons.parse(text)
        if found is None:
            return text
        template, values = found
        shown = {k: self._value(v) for k, v in values.items()}
        try:
            return self.gettext(template).format(**shown)
        except (KeyError, IndexError, ValueError):  # a translation naming a value the template lacks
            return text

    def _value(self, value: str) -> str:
        for field in ("need_category", "proximity"):
            word = self.term(field, value)
            if word != value:
                return word
        return value
