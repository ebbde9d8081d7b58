"""Chinese personal names: where the surname ends (for pinyin keys and for reduced names).

>>> split_chinese_name("欧阳娜娜"), split_chinese_name("周建军")
(('欧阳', '娜娜'), ('周', '建军'))
"""

from __future__ import annotations

__all__ = ["COMPOUND_SURNAMES", "split_chinese_name"]

#: Two-character surnames common enough to matter (百家姓); any other name's surname is one character.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 西门 南宫 独孤 呼延 万俟 闻人 澹台 公冶 太史 申屠 钟离 宗政 濮阳 淳于 单于 赫连 拓跋".split()
)


def split_chinese_name(name: str) -> tuple[str, str]:
    """(surname, given name) of a name in Chinese characters."""
    cut = 2 if name[:2] in COMPOUND_SURNAMES else 1
    return name[:cut], name[cut:]
