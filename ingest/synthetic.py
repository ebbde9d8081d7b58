"""A synthetic prefecture in the exchange format, with planted cases written to ``truth.json``.

``generate_prefecture(households=N, seed=S, out=DIR)`` writes every exchange file for a
prefecture of N households (宜昌市-like: urban districts and rural counties, down to villages):
real-looking names, valid ID numbers, household structures, incomes, assets, programmes of
several departments, aid records, needs, charities, volunteers and service organisations.
It then plants known duplicate-aid cases, missed-aid cases, identity variants in department
feeds, and relatives who owe maintenance, and lists them in ``truth.json``. With
``ledgers=True`` the departments also deliver their payment ledgers (发放明细): a line per month
paid of every monthly enrolment, about three aid records per person, the density of a mature
system's data (the shape the scale benchmark measures). The same seed gives
the same bytes: everything is drawn from ``random.Random`` seeded from the seed against a fixed
reference date, and written in a fixed order.

The prefecture is made and written in blocks of at most ``BLOCK_HOUSEHOLDS`` households, each
with its own planted cases, so memory stays flat in its size (the 6.05M-people prefecture of
DOMAIN.md on one machine): identifiers (ID numbers, record, need and resource numbers) are unique
across blocks; the regions, departments and programmes are the whole prefecture's, written once.
A prefecture of one block is what a generator without blocks wrote.

>>> import tempfile
>>> truth = generate_prefecture(households=60, seed=1, out=tempfile.mkdtemp())
>>> truth["counts"]["households"]
60
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.national_id import check_character
from ingest.exchange import FILE_SPECS
from policy.config import load_policy

__all__ = ["AS_OF", "POLICY", "generate_prefecture"]

#: The reference date of every generated prefecture ("today" in its data).
AS_OF = dt.date(2026, 6, 30)

#: The policy parameters the generator plants against: the shipped default policy file's values
#: (policy/configs/default.toml), read from it, so that no rule constant is written twice.
_DEFAULT_POLICY = load_policy()
POLICY: dict[str, Any] = {
    "dibao_standard": {area: _DEFAULT_POLICY.standard.for_area(area) for area in ("base", "urban", "rural")},
    "marginal_multiple": _DEFAULT_POLICY.multiples.marginal,
    "watch_multiple": _DEFAULT_POLICY.multiples.watch,
    "tekun_multiple": _DEFAULT_POLICY.tekun.basic_multiple,
    "maintenance_rule": {
        "description": (
            "an obligor owes a dependant household max(0, obligor household per-capita income - "
            "k x the obligor's local standard) x share, per month"
        ),
        "k": _DEFAULT_POLICY.maintenance.k,
        "share": _DEFAULT_POLICY.maintenance.share,
    },
}

_PROVINCE = ("420000", "湖北省")
_PREFECTURE = ("420500", "宜昌市")
_COUNTIES = [
    ("420502", "西陵区", "urban"),
    ("420503", "伍家岗区", "urban"),
    ("420504", "点军区", "rural"),
    ("420505", "猇亭区", "urban"),
    ("420506", "夷陵区", "rural"),
    ("420525", "远安县", "rural"),
    ("420526", "兴山县", "rural"),
    ("420527", "秭归县", "rural"),
    ("420528", "长阳土家族自治县", "rural"),
    ("420529", "五峰土家族自治县", "rural"),
    ("420581", "宜都市", "rural"),
    ("420582", "当阳市", "rural"),
    ("420583", "枝江市", "rural"),
]
_TOWN_WORDS = "东山 西坝 南津 北门 龙泉 乐天 白洋 安福 高家 黄花 雾渡 小溪 三斗 古老 梅子 茅坪 归州 郑家 渔洋 资丘".split()
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_MALE = "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘"
_FEMALE = "秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝丽阳妮宝贝初程梵罡恒鸿桦骅剑娇纪宽苛灵玛媚琪晴容睿烁堂唯威韦雯苇萱阅彦宇雨洋忠宗曼紫逸贤蝶菡绿蓝儿翠烟"
# A few simplified characters and their traditional forms, for planted name variants (the
# resolver itself uses OpenCC, not this table).
_TRADITIONAL = dict(
    zip(
        "军华国兰红丽伟刚东龙凤云锋杰涛辉强进丰宝贵荣义芳艳燕洁静凤莲玲",
        "軍華國蘭紅麗偉剛東龍鳳雲鋒傑濤輝強進豐寶貴榮義芳艷燕潔靜鳳蓮玲",
        strict=True,
    )
)

_DEPARTMENTS = [
    ("MZ", "民政局 civil affairs"),
    ("YB", "医疗保障局 medical insurance"),
    ("JY", "教育局 education"),
    ("ZJ", "住房和城乡建设局 housing"),
    ("RS", "人力资源和社会保障局 HR and social security"),
    ("CL", "残疾人联合会 disabled persons' federation"),
    ("WJ", "卫生健康委员会 health"),
    ("GA", "公安局 public security"),
    ("YJ", "应急管理局 emergency management"),
]
_PROGRAMS = [
    # code, name, department, kind, target, exclusive group, description
    (
        "DIBAO",
        "最低生活保障 minimum living guarantee",
        "MZ",
        "basic_living",
        "household",
        "basic_living",
        "monthly cash to households below the local standard",
    ),
    (
        "TEKUN",
        "特困人员救助供养 extreme-poverty support",
        "MZ",
        "basic_living",
        "person",
        "basic_living",
        "no income, no work capacity, no able obligor",
    ),
    ("LINSHI", "临时救助 temporary assistance", "MZ", "emergency", "household", "", "one-off aid in sudden hardship"),
    ("YILIAO_JIUZHU", "医疗救助 medical assistance", "YB", "special", "person", "", "covers medical costs left after insurance"),
    ("YILIAO_BUCHONG", "困难群众医疗补充保险 supplementary medical insurance", "YB", "special", "person", "", ""),
    ("ZIZHU_CANBAO", "资助参保 subsidised enrolment", "YB", "special", "person", "", "resident medical insurance premium paid"),
    (
        "JIAOYU_JIUZHU",
        "教育救助 education assistance",
        "JY",
        "special",
        "person",
        "student_living",
        "living allowance for students of poor households",
    ),
    (
        "XUESHENG_BUZHU",
        "困难学生生活补助 student living subsidy",
        "MZ",
        "special",
        "person",
        "student_living",
        "civil affairs' living subsidy for students",
    ),
    ("ZHUFANG_JIUZHU", "住房救助 housing assistance", "ZJ", "special", "household", "", "rent subsidy or repair of dilapidated housing"),
    ("JIUYE_JIUZHU", "就业救助 employment assistance", "RS", "special", "person", "", "social-insurance subsidy and job placement"),
    ("CANJI_SHENGHUO", "困难残疾人生活补贴 living allowance for disabled people in hardship", "CL", "special", "person", "", ""),
    ("CANJI_HULI", "重度残疾人护理补贴 care allowance for severe disability", "CL", "special", "person", "", ""),
    ("SHOUZAI", "受灾人员救助 disaster relief", "YJ", "emergency", "household", "", ""),
]
_SPECIAL_FOR_CLIFF = {"YILIAO_JIUZHU", "YILIAO_BUCHONG", "CANJI_SHENGHUO", "CANJI_HULI", "DIBAO"}


@dataclass
class _Person:
    id_number: str
    name: str
    sex: str
    birth: dt.date
    household_id: str
    relation: str
    hukou: str
    residence: str
    disability: int = 0
    chronic: bool = False
    major: bool = False
    labour: str = "full"
    employment: str = "employed"
    phone: str = ""
    bank: str = ""
    deceased: str = ""  # date of death, ISO; empty: living

    def age(self) -> int:
        b = self.birth
        return AS_OF.year - b.year - ((AS_OF.month, AS_OF.day) < (b.month, b.day))


def _without_labour_capacity(p: _Person) -> bool:
    """特困's class of people without labour capacity (queries.means_test._no_labour_capacity)."""
    age = _age_on(p.birth, AS_OF)
    return p.labour != "full" and (age >= 60 or age < 16 or p.disability in (1, 2) or (age < 18 and p.employment == "student"))


@dataclass
class _Household:
    household_id: str
    region: str
    county: str
    urban_rural: str
    address: str
    structure: str
    members: list[_Person] = field(default_factory=list)
    profile: str = "ok"  # poor | marginal | rigid | ok | well_off
    monthly_income: float = 0.0
    dibao: bool = False
    planted: str = ""  # why this household must not be touched by later random choices


#: Programmes paid month by month: the ones a payment ledger has a line a month for.
_MONTHLY = {"DIBAO", "TEKUN", "CANJI_HULI", "CANJI_SHENGHUO", "JIAOYU_JIUZHU", "JIUYE_JIUZHU"}


#: Households made and written at a time (about 0.7 GB of the generator's memory with ledgers).
BLOCK_HOUSEHOLDS = 50_000


class _Generator:
    """One block of the prefecture: ``households`` households from the ``first`` (counted over the
    whole prefecture of ``total``), with ``ids`` and ``counter`` shared by every block."""

    def __init__(
        self,
        households: int,
        seed: int,
        ledgers: bool = False,
        *,
        total: int | None = None,
        first: int = 0,
        block_seed: str | None = None,
        ids: set[int] | None = None,
        counter: dict[str, int] | None = None,
    ):
        self.n = households
        self.total = total or households
        self.first = first
        self.ledgers = ledgers
        # A system that keeps ledgers has run for years: its monthly enrolments go further back.
        self.tenure = 1.7 if ledgers else 1.0
        self.rng = random.Random(seed if block_seed is None else block_seed)
        self.ids: set[int] = set() if ids is None else ids
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in FILE_SPECS}
        self.truth: dict[str, Any] = {
            "as_of": AS_OF.isoformat(),
            "seed": seed,
            "policy": POLICY,
            "duplicate_aid": [],
            "missed_aid": [],
            "identity_variants": [],
            "generic_identifiers": [],
            "obligations": [],
            "tier_sample": [],
        }
        self.households: list[_Household] = []
        self.planted_persons: set[str] = set()  # people whose aid a planted case already wrote
        self.villages: list[tuple[str, str, str]] = []  # code, county, urban_rural
        self.counter: dict[str, int] = {} if counter is None else counter

    # -- helpers -----------------------------------------------------------------------------

    def next_id(self, prefix: str) -> str:
        self.counter[prefix] = self.counter.get(prefix, 0) + 1
        return f"{prefix}-{self.counter[prefix]:07d}"

    def standard(self, urban_rural: str) -> int:
        return POLICY["dibao_standard"][urban_rural]

    def id_number(self, county: str, birth: dt.date, sex: str) -> str:
        while True:
            seq = self.rng.randrange(0, 500) * 2 + (1 if sex == "M" else 0)
            if seq == 0:
                continue
            first17 = f"{county}{birth:%Y%m%d}{seq:03d}"
            # Kept as the number of its first 17 digits (the 18th follows from them): a third of
            # the memory of the strings, over the 6 million people of a prefecture.
            if int(first17) not in self.ids:
                self.ids.add(int(first17))
                return first17 + check_character(first17)

    def name(self, sex: str, surname: str | None = None) -> str:
        rng = self.rng
        surname = surname or rng.choice(_SURNAMES)
        chars = _MALE if sex == "M" else _FEMALE
        given = rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.72 else "")
        return surname + given

    def birth(self, age_low: int, age_high: int) -> dt.date:
        age = self.rng.randint(age_low, age_high)
        return AS_OF - dt.timedelta(days=age * 365 + self.rng.randrange(0, 365))

    def person(self, hh: _Household, relation: str, sex: str, age: tuple[int, int], surname: str | None = None) -> _Person:
        birth = self.birth(*age)
        p = _Person(
            id_number=self.id_number(hh.county, birth, sex),
            name=self.name(sex, surname),
            sex=sex,
            birth=birth,
            household_id=hh.household_id,
            relation=relation,
            hukou=hh.county,
            residence=hh.region,
        )
        a = p.age()
        if a < 16:
            p.labour, p.employment = "none", ("student" if a >= 6 else "none")
        elif a < 23 and self.rng.random() < 0.6:
            p.labour, p.employment = "full", "student"
        elif a >= 65:
            p.labour, p.employment = ("none" if a >= 75 or self.rng.random() < 0.5 else "partial"), "retired"
        else:
            p.employment = self.rng.choices(["employed", "flexible", "unemployed"], [0.55, 0.3, 0.15])[0]
        r = self.rng.random()
        if r < 0.035:
            p.disability = self.rng.choice([1, 2, 2, 3, 4])
            if p.disability <= 2 and a >= 16:
                p.labour, p.employment = "none", ("retired" if a >= 60 else "none")
        if self.rng.random() < (0.25 if a >= 60 else 0.05):
            p.chronic = True
        if self.rng.random() < 0.02:
            p.major = True
            if 16 <= a < 60:
                p.labour = "partial"
        if a >= 18 and self.rng.random() < 0.45:
            p.phone = f"1{self.rng.choice('3578')}{self.rng.randrange(0, 10**9):09d}"
        hh.members.append(p)
        return p

    # -- regions, departments, programmes -----------------------------------------------------

    def make_regions(self) -> None:
        rows = self.rows["regions"]
        rows.append({"region_code": _PROVINCE[0], "name": _PROVINCE[1], "level": "province"})
        rows.append(
            {"region_code": _PREFECTURE[0], "name": _PREFECTURE[1], "level": "city", "parent_code": _PROVINCE[0], "urban_rural": "urban"}
        )
        n_villages = max(26, self.total // 150)  # the whole prefecture's, in every block
        per_county = max(1, n_villages // len(_COUNTIES))
        for code, name, ur in _COUNTIES:
            rows.append({"region_code": code, "name": name, "level": "county", "parent_code": _PREFECTURE[0], "urban_rural": ur})
            n_towns = max(1, min(9, per_county // 6 + 1))
            for t in range(n_towns):
                town_urban = ur == "urban" or (t == 0 and n_towns > 1)  # a county seat is urban
                tcode = f"{code}{(t + 1) if town_urban else (100 + t):03d}"
                tname = _TOWN_WORDS[(t + int(code[-2:])) % len(_TOWN_WORDS)] + ("街道" if town_urban else "镇")
                rows.append(
                    {
                        "region_code": tcode,
                        "name": tname,
                        "level": "township",
                        "parent_code": code,
                        "urban_rural": "urban" if town_urban else "rural",
                    }
                )
                for v in range(max(1, per_county // n_towns)):
                    vcode = f"{tcode}{(v + 1) if town_urban else (200 + v):03d}"
                    vname = f"{tname[:2]}{'第' + str(v + 1) + '社区' if town_urban else str(v + 1) + '村'}"
                    vur = "urban" if town_urban else "rural"
                    rows.append({"region_code": vcode, "name": vname, "level": "village", "parent_code": tcode, "urban_rural": vur})
                    self.villages.append((vcode, code, vur))

    def make_departments_and_programs(self) -> None:
        for code, name in _DEPARTMENTS:
            self.rows["departments"].append({"department_code": code, "name": name})
        for code, name, dept, kind, target, group, desc in _PROGRAMS:
            self.rows["programs"].append(
                {
                    "program_code": code,
                    "name": name,
                    "department_code": dept,
                    "kind": kind,
                    "target": target,
                    "exclusive_group": group,
                    "description": desc,
                }
            )

    # -- households and people ------------------------------------------------------------------

    def make_households(self) -> None:
        rng = self.rng
        structures = [
            "elderly_couple",
            "elderly_alone",
            "three_generation",
            "couple_children",
            "single_parent",
            "single_adult",
            "disabled_adult",
        ]
        weights = [0.15, 0.09, 0.20, 0.32, 0.08, 0.10, 0.06]
        for i in range(self.first, self.first + self.n):
            vcode, county, ur = self.villages[i % len(self.villages)] if i < len(self.villages) else rng.choice(self.villages)
            hid = f"H-{vcode[:6]}-{i + 1:07d}"
            addr = (
                f"{vcode[:9]}号{rng.randint(1, 40)}栋{rng.randint(1, 6)}单元{rng.randint(101, 1802)}"
                if ur == "urban"
                else f"{rng.randint(1, 12)}组{rng.randint(1, 80)}号"
            )
            hh = _Household(hid, vcode, county, ur, addr, rng.choices(structures, weights)[0])
            self.populate(hh)
            self.households.append(hh)

    def populate(self, hh: _Household) -> None:
        rng = self.rng
        s = hh.structure
        if s == "elderly_couple":
            head = self.person(hh, "head", "M", (65, 88))
            self.person(hh, "spouse", "F", (max(60, head.age() - 6), head.age() + 2))
        elif s == "elderly_alone":
            self.person(hh, "head", rng.choice("MF"), (68, 95))
        elif s == "three_generation":
            head = self.person(hh, "head", "M", (32, 55))
            self.person(hh, "spouse", "F", (head.age() - 5, head.age() + 2))
            for _ in range(rng.randint(1, 2)):
                self.person(hh, "child", rng.choice("MF"), (1, min(17, head.age() - 20)), surname=head.name[0])
            self.person(hh, "parent", "M", (head.age() + 22, head.age() + 34), surname=head.name[0])
            if rng.random() < 0.7:
                self.person(hh, "parent", "F", (head.age() + 20, head.age() + 32))
        elif s == "couple_children":
            head = self.person(hh, "head", "M", (26, 58))
            self.person(hh, "spouse", "F", (head.age() - 5, head.age() + 2))
            for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
                self.person(hh, "child", rng.choice("MF"), (0, min(22, head.age() - 20)), surname=head.name[0])
        elif s == "single_parent":
            head = self.person(hh, "head", rng.choice("MFF"), (25, 50))
            for _ in range(rng.randint(1, 2)):
                self.person(hh, "child", rng.choice("MF"), (1, min(17, head.age() - 18)))
        elif s == "single_adult":
            self.person(hh, "head", rng.choice("MF"), (20, 64))
        else:  # an adult with a severe disability living with an ageing parent
            parent = self.person(hh, "head", rng.choice("MF"), (55, 80))
            child = self.person(hh, "child", rng.choice("MF"), (18, parent.age() - 20))
            child.disability, child.labour, child.employment = rng.choice([1, 2]), "none", "none"
        # Profiles: poor, marginal, rigid expenditure (illness), ordinary, well off.
        r = rng.random()
        hh.profile = "poor" if r < 0.11 else "marginal" if r < 0.19 else "rigid" if r < 0.22 else "ok" if r < 0.85 else "well_off"
        if hh.profile == "rigid":
            rng.choice(hh.members).major = True
        if s == "disabled_adult" and hh.profile in ("ok", "well_off") and rng.random() < 0.5:
            hh.profile = "marginal"

    def assign_incomes(self) -> None:
        rng = self.rng
        for hh in self.households:
            std = self.standard(hh.urban_rural)
            size = len(hh.members)
            factor = {
                "poor": rng.uniform(0.0, 0.75),
                "marginal": rng.uniform(1.1, 1.4),
                "rigid": rng.uniform(1.6, 2.4),
                "ok": rng.uniform(2.3, 4.5),
                "well_off": rng.uniform(5.0, 12.0),
            }[hh.profile]
            total = round(std * factor * size / 10) * 10
            if hh.profile == "poor" and hh.structure == "elderly_alone" and rng.random() < 0.5:
                total = 0  # a rural elder with no pension and nobody's wage
            self.set_income(hh, total)

    def set_income(self, hh: _Household, total: float) -> None:
        """Spread a household's monthly income over its members' income items (replacing any)."""
        self.rows_for_household_incomes = getattr(self, "rows_for_household_incomes", {})
        self.rows_for_household_incomes[hh.household_id] = []
        hh.monthly_income = total
        if total <= 0:
            return
        retirees = [p for p in hh.members if p.employment == "retired"]
        workers = [p for p in hh.members if p.employment in ("employed", "flexible") and p.labour != "none"]
        earners = workers + retirees or [p for p in hh.members if p.age() >= 16] or hh.members[:1]
        shares = [self.rng.uniform(0.6, 1.4) for _ in earners]
        left = total
        for i, (p, sh) in enumerate(zip(earners, shares, strict=True)):
            amount = left if i == len(earners) - 1 else round(total * sh / sum(shares) / 10) * 10
            amount = min(amount, left)
            left -= amount
            if amount <= 0:
                continue
            if p.employment == "retired":
                kind, dept = "pension", "RS"
            elif hh.urban_rural == "rural" and self.rng.random() < 0.4:
                kind, dept = "farm", "MZ"
            else:
                kind, dept = ("wage" if p.employment == "employed" else "flexible_work"), "RS"
            start = AS_OF - dt.timedelta(days=self.rng.randint(200, 3000))
            self.rows_for_household_incomes[hh.household_id].append(
                {
                    "income_id": "",
                    "id_number": p.id_number,
                    "kind": kind,
                    "monthly_amount": f"{amount:.0f}",
                    "source_department": dept,
                    "period_start": start.isoformat(),
                    "period_end": "",
                }
            )

    def per_capita(self, hh: _Household) -> float:
        return hh.monthly_income / len(hh.members)

    # -- kinship and obligations ------------------------------------------------------------------

    def make_kinship(self) -> None:
        rng = self.rng
        for hh in self.households:
            head = hh.members[0]
            for p in hh.members[1:]:
                if p.relation == "spouse":
                    self.kin(head, p, "spouse_of")
                elif p.relation == "child":
                    self.kin(head, p, "parent_of")
                    spouse = next((q for q in hh.members if q.relation == "spouse"), None)
                    if spouse:
                        self.kin(spouse, p, "parent_of")
                elif p.relation == "parent":
                    self.kin(p, head, "parent_of")
            parents = [p for p in hh.members if p.relation == "parent"]
            if len(parents) == 2:
                self.kin(parents[0], parents[1], "spouse_of")
        # Adult children living elsewhere: the obligors of elderly households (赡养).
        adults_by_decade: dict[int, list[tuple[_Person, _Household]]] = {}
        for hh in self.households:
            # Heads of three-generation households live with their parents already.
            if hh.structure in ("couple_children", "single_adult"):
                head = hh.members[0]
                adults_by_decade.setdefault(head.birth.year // 5, []).append((head, hh))
        self.obligors_of: dict[str, list[tuple[_Person, _Household]]] = {}
        taken: set[str] = set()
        for hh in self.households:
            if hh.structure not in ("elderly_couple", "elderly_alone") or hh.planted:
                continue
            elder = hh.members[0]
            n_children = rng.choices([0, 1, 2, 3], [0.25, 0.35, 0.3, 0.1])[0]
            for _ in range(n_children):
                pool = adults_by_decade.get((elder.birth.year + rng.randint(22, 34)) // 5)
                if not pool:
                    continue
                child, chh = rng.choice(pool)
                # One set of parents per person: a child already claimed stays with them.
                if child.id_number in taken:
                    continue
                taken.add(child.id_number)
                for parent in hh.members:
                    self.kin(parent, child, "parent_of")
                self.obligors_of.setdefault(hh.household_id, []).append((child, chh))

    def kin(self, a: _Person, b: _Person, relation: str) -> None:
        self.rows["kinship"].append({"from_id_number": a.id_number, "to_id_number": b.id_number, "relation": relation})

    def maintenance_owed(self, hh: _Household) -> float:
        """What the household's obligors elsewhere owe it a month, by the maintenance rule."""
        rule = POLICY["maintenance_rule"]
        return sum(
            round(max(0.0, self.per_capita(chh) - rule["k"] * self.standard(chh.urban_rural)) * rule["share"], 2)
            for _, chh in getattr(self, "obligors_of", {}).get(hh.household_id, [])
        )

    def has_outside_obligors(self, hh: _Household) -> bool:
        return bool(getattr(self, "obligors_of", {}).get(hh.household_id))

    # -- aid -------------------------------------------------------------------------------------

    def aid(
        self,
        dept: str,
        program: str,
        btype: str,
        ref: str,
        amount: float,
        start: dt.date,
        end: dt.date | None = None,
        name: str = "",
        birth: str = "",
        need_id: str = "",
        status: str | None = None,
    ) -> dict[str, Any]:
        row = {
            "record_id": self.next_id(dept),
            "source_department": dept,
            "program_code": program,
            "beneficiary_type": btype,
            "beneficiary_ref": ref,
            "beneficiary_name": name,
            "beneficiary_birth_date": birth,
            "amount": f"{amount:.2f}".rstrip("0").rstrip("."),
            "period_start": start.isoformat(),
            "period_end": end.isoformat() if end else "",
            "status": status or ("ended" if end and end < AS_OF else "active"),
            "need_id": need_id,
        }
        self.rows["aid_records"].append(row)
        return row

    def person_aid(
        self, dept: str, program: str, p: _Person, amount: float, start: dt.date, end: dt.date | None = None, need_id: str = ""
    ) -> dict[str, Any]:
        return self.aid(dept, program, "person", p.id_number, amount, start, end, name=p.name, birth=p.birth.isoformat(), need_id=need_id)

    def enrol_dibao(self, hh: _Household, start: dt.date | None = None, end: dt.date | None = None) -> dict[str, Any]:
        std = self.standard(hh.urban_rural)
        amount = max(50, round((std - self.per_capita(hh)) * len(hh.members)))
        hh.dibao = True
        return self.aid(
            "MZ",
            "DIBAO",
            "household",
            hh.household_id,
            amount,
            start or AS_OF - dt.timedelta(days=self.rng.randint(60, round(1400 * self.tenure))),
            end,
            name=hh.members[0].name,
        )

    def past_start(self, low: int = 30, high: int = 900) -> dt.date:
        return AS_OF - dt.timedelta(days=self.rng.randint(low, high))

    def make_needs_and_resources(self) -> None:
        rng = self.rng
        counties = [c for c, _, _ in _COUNTIES]
        self.resources_by_county: dict[str, dict[str, list[str]]] = {}
        for county in counties:
            by_cat: dict[str, list[str]] = {}
            for kind, cats, n in (
                ("charity", ["medical", "daily_living", "schooling", "housing"], 2),
                ("volunteer", ["schooling", "care", "psychological"], 3),
                ("service_org", ["care", "psychological", "employment", "daily_living"], 2),
            ):
                for _ in range(n + self.n // 4000):
                    rid = self.next_id("R")
                    mine = rng.sample(cats, rng.randint(1, len(cats)))
                    name = {
                        "charity": f"{rng.choice(_TOWN_WORDS)}慈善基金 project",
                        "volunteer": f"志愿者{rng.choice(_SURNAMES)}{rng.choice(_MALE + _FEMALE)}",
                        "service_org": f"{rng.choice(_TOWN_WORDS)}社工服务中心",
                    }[kind]
                    self.rows["resources"].append(
                        {
                            "resource_id": rid,
                            "provider_name": name,
                            "provider_type": kind,
                            "categories": ";".join(sorted(mine)),
                            "region_code": county,
                            "capacity": str(rng.randint(2, 6) if kind == "volunteer" else rng.randint(10, 80)),
                            "funds_left": f"{rng.randint(20, 500) * 1000}" if kind == "charity" else "",
                            "satisfaction": f"{rng.uniform(0.55, 0.99):.2f}",
                            "skills": {
                                "volunteer": rng.choice(["数学辅导 maths tutoring", "陪伴探访 visits", "心理疏导 counselling"]),
                                "service_org": "个案管理 case management",
                            }.get(kind, ""),
                            "languages": "zh" if rng.random() < 0.8 else "zh;en",
                        }
                    )
                    for c in mine:
                        by_cat.setdefault(c, []).append(rid)
            self.resources_by_county[county] = by_cat

    def need(self, hh: _Household, p: _Person | None, category: str, urgency: str, status: str, description: str) -> dict[str, Any]:
        row = {
            "need_id": self.next_id("N"),
            "household_id": hh.household_id,
            "person_ref": p.id_number if p else "",
            "category": category,
            "urgency": urgency,
            "raised_on": self.past_start(20, 700).isoformat(),
            "status": status,
            "description": description,
        }
        self.rows["needs"].append(row)
        return row

    def serve(
        self, hh: _Household, need: dict[str, Any], amount: float | None = None, start: dt.date | None = None
    ) -> dict[str, Any] | None:
        pool = self.resources_by_county[hh.county].get(need["category"])
        if not pool:
            return None
        raised = dt.date.fromisoformat(need["raised_on"])
        row = {
            "service_id": self.next_id("S"),
            "resource_id": self.rng.choice(pool),
            "household_id": hh.household_id,
            "need_id": need["need_id"],
            "start": (start or raised + dt.timedelta(days=self.rng.randint(3, 40))).isoformat(),
            "end": "",
            "amount": f"{amount:.0f}" if amount else "",
        }
        self.rows["services"].append(row)
        return row

    def regular_aid(self) -> None:
        """Aid as a careful bureau would give it: every eligible household enrolled, every need served."""
        rng = self.rng
        for hh in self.households:
            if hh.planted:
                # A planted case is planted on top of ordinary special assistance; only the cliff
                # case is, by definition, a household that special assistance missed.
                if hh.planted != "cliff":
                    self.special_assistance(hh, True)
                continue
            std = self.standard(hh.urban_rural)
            pc = self.per_capita(hh)
            elders_alone = (
                hh.structure == "elderly_alone"
                and hh.monthly_income == 0
                and hh.members[0].labour == "none"
                and not self.has_outside_obligors(hh)
            )
            if hh.profile == "poor":
                if elders_alone:
                    p = hh.members[0]
                    self.person_aid("MZ", "TEKUN", p, round(std * POLICY["tekun_multiple"]), self.past_start(60, round(1500 * self.tenure)))
                elif (hh.monthly_income + self.maintenance_owed(hh)) / len(hh.members) < std:  # an able son's support counts
                    self.enrol_dibao(hh)
                    for p in hh.members:
                        self.person_aid("YB", "ZIZHU_CANBAO", p, 380, dt.date(AS_OF.year, 1, 1), dt.date(AS_OF.year, 12, 31))
                    for p in hh.members:
                        if p.employment == "student" and p.age() >= 6:
                            n = self.need(hh, p, "schooling", "needs_care", "served", "school costs")
                            self.person_aid("JY", "JIAOYU_JIUZHU", p, 150, self.past_start(30, 300), need_id=n["need_id"])
            self.special_assistance(hh, hh.profile in ("poor", "marginal", "rigid") or pc < std * POLICY["marginal_multiple"])
            if hh.profile == "poor" and hh.urban_rural == "rural" and rng.random() < 0.25:
                n = self.need(hh, None, "housing", "safety_net", "served", "dilapidated house needs repair")
                self.aid(
                    "ZJ",
                    "ZHUFANG_JIUZHU",
                    "household",
                    hh.household_id,
                    rng.randint(10, 40) * 1000,
                    self.past_start(30, 600),
                    name=hh.members[0].name,
                    need_id=n["need_id"],
                )
            if hh.profile == "poor":
                for p in hh.members:
                    if p.employment == "unemployed" and p.labour == "full" and 18 <= p.age() < 60:
                        n = self.need(hh, p, "employment", "needs_care", "served", "looking for work")
                        self.person_aid("RS", "JIUYE_JIUZHU", p, 300, self.past_start(30, round(500 * self.tenure)), need_id=n["need_id"])
                if rng.random() < 0.1:
                    start = self.past_start(30, 700)
                    self.aid("MZ", "LINSHI", "household", hh.household_id, rng.randint(5, 30) * 100, start, start, name=hh.members[0].name)
            if hh.urban_rural == "rural" and rng.random() < 0.01:
                start = self.past_start(30, 700)
                self.aid("YJ", "SHOUZAI", "household", hh.household_id, rng.randint(10, 50) * 100, start, start, name=hh.members[0].name)
            if hh.structure == "elderly_alone" and rng.random() < 0.5:
                n = self.need(
                    hh, hh.members[0], "care", rng.choice(["needs_care", "keep_watching"]), "served", "lives alone, needs regular visits"
                )
                self.serve(hh, n) or self.close_need(n)
            if hh.profile == "poor" and rng.random() < 0.2:
                n = self.need(hh, None, "psychological", "needs_care", "served", "family under stress")
                self.serve(hh, n) or self.close_need(n)

    def special_assistance(self, hh: _Household, special: bool) -> None:
        """Disability allowances and medical assistance, as the departments give them."""
        rng = self.rng
        for p in hh.members:
            if p.id_number in self.planted_persons:
                continue
            if p.disability in (1, 2):
                self.person_aid("CL", "CANJI_HULI", p, 120, self.past_start(30, round(900 * self.tenure)))
                if special:
                    self.person_aid("CL", "CANJI_SHENGHUO", p, 100, self.past_start(30, round(900 * self.tenure)))
            if p.major and special:
                n = self.need(hh, p, "medical", rng.choice(["urgent_intervention", "safety_net"]), "served", "hospital treatment")
                self.person_aid("YB", "YILIAO_JIUZHU", p, rng.randint(20, 300) * 100, self.past_start(30, 400), need_id=n["need_id"])
            elif p.major:
                # A well-off household pays its own way; the need is met by insurance and closed.
                self.need(hh, p, "medical", "keep_watching", "closed", "treated, covered by insurance")

    def payment_ledgers(self) -> None:
        """A payment line for each whole month paid of every ongoing monthly enrolment.

        Lines are ended records of one calendar month each, from the first whole month of the
        enrolment to the last month before the reference date's; the enrolment record itself stays
        (it is the decision that is still in force). Lines carry no need: the enrolment answers it.
        Planted households get none, so the audit's findings stay the planted ones.
        """
        planted = {hh.household_id for hh in self.households if hh.planted}
        planted |= {p.id_number for hh in self.households if hh.planted for p in hh.members} | self.planted_persons
        last = AS_OF.replace(day=1)  # lines end before the reference date's month
        for row in list(self.rows["aid_records"]):
            if row["program_code"] not in _MONTHLY or row["period_end"] or row["beneficiary_ref"] in planted:
                continue
            start = dt.date.fromisoformat(row["period_start"])
            month = start if start.day == 1 else _next_month(start)
            while month < last:
                following = _next_month(month)
                self.aid(
                    row["source_department"],
                    row["program_code"],
                    row["beneficiary_type"],
                    row["beneficiary_ref"],
                    float(row["amount"]),
                    month,
                    following - dt.timedelta(days=1),
                    name=row["beneficiary_name"],
                    birth=row["beneficiary_birth_date"],
                    status="ended",
                )
                month = following

    def close_need(self, need: dict[str, Any]) -> None:
        need["status"] = "closed"

    # -- planted cases ----------------------------------------------------------------------------

    def pick(self, predicate: Any, used: set[str]) -> _Household | None:
        """A random household fit for a planted case (drawn, not scanned: planting stays linear)."""

        def fits(h: _Household) -> bool:
            return not h.planted and h.household_id not in used and predicate(h)

        for _ in range(5000):
            hh = self.households[self.rng.randrange(len(self.households))]
            if fits(hh):
                break
        else:
            candidates = [h for h in self.households if fits(h)]
            if not candidates:
                return None
            hh = self.rng.choice(candidates)
        used.add(hh.household_id)
        return hh

    def plant(self) -> None:
        rng = self.rng
        self.exact_records: set[str] = set()
        k = max(2, self.n // 500)
        used: set[str] = set()
        truth = self.truth

        def plain_poor(h: _Household) -> bool:
            return h.profile == "poor" and not self.has_outside_obligors(h) and h.structure not in ("elderly_alone",)

        # Missed aid 1: eligible by income, not enrolled (应救尽救).
        for _ in range(k):
            hh = self.pick(lambda h: plain_poor(h) and self.per_capita(h) < 0.6 * self.standard(h.urban_rural), used)
            if hh:
                hh.planted = "missed_eligible"
                truth["missed_aid"].append(
                    {
                        "kind": "eligible_not_enrolled",
                        "household": hh.household_id,
                        "program": "DIBAO",
                        "per_capita_income": round(self.per_capita(hh), 2),
                        "standard": self.standard(hh.urban_rural),
                    }
                )
        # Missed aid 2: cliff effect: a marginal household with a severely disabled or seriously
        # ill member and no special assistance.
        for _ in range(k):
            hh = self.pick(lambda h: h.profile == "marginal" and not self.has_outside_obligors(h), used)
            if hh:
                hh.planted = "cliff"
                p = rng.choice(hh.members)
                if rng.random() < 0.5:
                    p.disability, p.labour = 1, "none"
                    why = "severe disability"
                else:
                    p.major = True
                    why = "serious illness"
                truth["missed_aid"].append(
                    {
                        "kind": "cliff_effect",
                        "household": hh.household_id,
                        "person": p.id_number,
                        "reason": why,
                        "program": "special_assistance",
                        "per_capita_income": round(self.per_capita(hh), 2),
                        "standard": self.standard(hh.urban_rural),
                    }
                )
        # Missed aid 3: aid ended while the reason persists.
        for _ in range(k):
            hh = self.pick(lambda h: plain_poor(h), used)
            if hh:
                hh.planted = "ended"
                rec = self.enrol_dibao(hh, start=AS_OF - dt.timedelta(days=900), end=AS_OF - dt.timedelta(days=rng.randint(60, 200)))
                hh.dibao = False
                truth["missed_aid"].append(
                    {
                        "kind": "aid_ended_reason_persists",
                        "household": hh.household_id,
                        "program": "DIBAO",
                        "records": [rec["record_id"]],
                        "per_capita_income": round(self.per_capita(hh), 2),
                    }
                )
        # Wrong aid 1: 低保 paid to a household well above the line (错保), enrolled after its income began.
        for _ in range(k):
            hh = self.pick(
                lambda h: (
                    h.profile in ("ok", "well_off")
                    and not self.has_outside_obligors(h)
                    and self.per_capita(h) >= self.standard(h.urban_rural) * POLICY["marginal_multiple"]
                ),
                used,
            )
            if hh:
                hh.planted = "wrongly_enrolled"
                rec = self.aid(
                    "MZ",
                    "DIBAO",
                    "household",
                    hh.household_id,
                    300,
                    AS_OF - dt.timedelta(days=rng.randint(30, 90)),
                    None,
                    name=hh.members[0].name,
                )
                truth["missed_aid"].append(
                    {"kind": "wrongly_enrolled", "household": hh.household_id, "program": "DIBAO", "records": [rec["record_id"]]}
                )
        # Wrong aid 2: a person's allowance paid on after their death (死亡未销户).
        for _ in range(k):
            hh = self.pick(
                lambda h: (
                    plain_poor(h)
                    and len(h.members) >= 2
                    and h.monthly_income / (len(h.members) - 1) < 0.8 * self.standard(h.urban_rural)
                    and not (h.members[-1].disability or h.members[-1].major)
                    and h.members[-1].birth < AS_OF - dt.timedelta(days=400)
                ),
                used,
            )
            if hh:
                hh.planted = "paid_after_death"  # still poor without the one who died: still 低保
                self.enrol_dibao(hh)
                p = hh.members[-1]
                p.deceased = (AS_OF - dt.timedelta(days=rng.randint(60, 300))).isoformat()
                rec = self.person_aid("YB", "ZIZHU_CANBAO", p, 380, AS_OF - dt.timedelta(days=400))
                self.exact_records.add(rec["record_id"])  # its ID stays exact: the case is not identity resolution's
                truth["missed_aid"].append(
                    {
                        "kind": "paid_after_death",
                        "household": hh.household_id,
                        "person": p.id_number,
                        "died_on": p.deceased,
                        "records": [rec["record_id"]],
                    }
                )
        # Duplicate aid: one person enrolled in 低保 twice: with their household, and on their own.
        for _ in range(k):
            hh = self.pick(lambda h: plain_poor(h), used)
            if hh:
                hh.planted = "enrolled_twice"
                first = self.enrol_dibao(hh)
                p = hh.members[0]
                second = self.person_aid("MZ", "DIBAO", p, 420, AS_OF - dt.timedelta(days=rng.randint(100, 400)))
                truth["duplicate_aid"].append(
                    {
                        "kind": "enrolled_twice",
                        "persons": [p.id_number],
                        "households": [hh.household_id],
                        "records": sorted([first["record_id"], second["record_id"]]),
                    }
                )
        # Missed aid 4: a need nobody serves.
        for _ in range(k):
            hh = self.pick(lambda h: h.profile in ("poor", "marginal") and not self.has_outside_obligors(h), used)
            if hh:
                hh.planted = "unserved"
                self.enrol_dibao(hh) if hh.profile == "poor" else None
                p = rng.choice(hh.members)
                n = self.need(
                    hh,
                    p,
                    rng.choice(["care", "psychological", "employment", "housing"]),
                    # Varied urgency: a waiting list is what resource allocation has to order.
                    rng.choice(["urgent_intervention", "safety_net", "needs_care", "keep_watching"]),
                    "open",
                    "reported at a home visit",
                )
                truth["missed_aid"].append({"kind": "unserved_need", "household": hh.household_id, "need": n["need_id"], "program": None})

        # Duplicate 1: mutually exclusive programmes overlapping for one person, across departments.
        for i in range(k):
            if i % 2 == 0:
                hh = self.pick(lambda h: plain_poor(h) and any(p.employment == "student" and p.age() >= 6 for p in h.members), used)
                if not hh:
                    continue
                hh.planted = "dup_exclusive"
                self.enrol_dibao(hh)
                p = next(p for p in hh.members if p.employment == "student" and p.age() >= 6)
                a = self.person_aid("JY", "JIAOYU_JIUZHU", p, 150, AS_OF - dt.timedelta(days=300))
                b = self.person_aid("MZ", "XUESHENG_BUZHU", p, 200, AS_OF - dt.timedelta(days=200))
                group = "student_living"
            else:
                hh = self.pick(lambda h: plain_poor(h) and any(q.age() >= 60 for q in h.members), used)
                if not hh:
                    continue
                hh.planted = "dup_exclusive"
                a = self.enrol_dibao(hh, start=AS_OF - dt.timedelta(days=500))
                p = next(q for q in hh.members if q.age() >= 60)
                b = self.person_aid("MZ", "TEKUN", p, round(self.standard(hh.urban_rural) * 1.3), AS_OF - dt.timedelta(days=250))
                group = "basic_living"
            truth["duplicate_aid"].append(
                {
                    "kind": "exclusive_overlap",
                    "group": group,
                    "persons": [p.id_number],
                    "households": [hh.household_id],
                    "records": sorted([a["record_id"], b["record_id"]]),
                }
            )
        # Duplicate 2: one person registered in two households that both receive household aid.
        for _ in range(k):
            h1 = self.pick(lambda h: plain_poor(h) and len(h.members) >= 2, used)
            h2 = self.pick(lambda h: plain_poor(h), used)
            if not h1 or not h2:
                continue
            h1.planted = h2.planted = "dup_two_households"
            p = next(q for q in h1.members if q.relation != "head")
            # Registered again under a second number (一人多户): same name, birth and sex.
            twin = _Person(
                **{
                    **p.__dict__,
                    "id_number": self.id_number(p.hukou, p.birth, p.sex),
                    "household_id": h2.household_id,
                    "relation": "other",
                    "residence": h2.region,
                    "phone": "",
                    "bank": "",
                }
            )
            h2.members.append(twin)
            self.planted_persons.update((p.id_number, twin.id_number))
            r1, r2 = self.enrol_dibao(h1), self.enrol_dibao(h2)
            truth["duplicate_aid"].append(
                {
                    "kind": "person_in_two_households",
                    "persons": sorted([p.id_number, twin.id_number]),
                    "households": sorted([h1.household_id, h2.household_id]),
                    "records": sorted([r1["record_id"], r2["record_id"]]),
                }
            )
            truth["identity_variants"].append(
                {
                    "kind": "second_registration",
                    "register_id": p.id_number,
                    "variant_id": twin.id_number,
                    "file": "persons",
                    "record": twin.id_number,
                }
            )
        # Duplicate 3: the same need paid by a department and by a charity in the same period.
        for _ in range(k):
            hh = self.pick(lambda h: h.profile in ("poor", "marginal") and not self.has_outside_obligors(h), used)
            if not hh or not self.resources_by_county[hh.county].get("medical"):
                continue
            hh.planted = "dup_need"
            self.enrol_dibao(hh) if hh.profile == "poor" else None
            p = rng.choice(hh.members)
            p.major = True
            self.planted_persons.add(p.id_number)
            n = self.need(hh, p, "medical", "urgent_intervention", "served", "hospital treatment")
            # Recent, so the medical assistance is current special assistance (not a cliff case too).
            n["raised_on"] = (AS_OF - dt.timedelta(days=rng.randint(20, 200))).isoformat()
            start = dt.date.fromisoformat(n["raised_on"]) + dt.timedelta(days=5)
            a = self.person_aid(
                "YB", "YILIAO_JIUZHU", p, rng.randint(50, 200) * 100, start, start + dt.timedelta(days=90), need_id=n["need_id"]
            )
            s = self.serve(hh, n, amount=rng.randint(20, 100) * 100, start=start + dt.timedelta(days=10))
            assert s is not None
            truth["duplicate_aid"].append(
                {
                    "kind": "need_paid_twice",
                    "persons": [p.id_number],
                    "households": [hh.household_id],
                    "need": n["need_id"],
                    "records": [a["record_id"]],
                    "services": [s["service_id"]],
                }
            )
        # Duplicate 4: one payment delivered twice by two feeds.
        for _ in range(k):
            hh = self.pick(lambda h: plain_poor(h), used)
            if not hh:
                continue
            hh.planted = "dup_delivered"
            a = self.enrol_dibao(hh)
            b = dict(a, record_id=self.next_id("MZ"))
            self.rows["aid_records"].append(b)
            truth["duplicate_aid"].append(
                {
                    "kind": "delivered_twice",
                    "persons": [],
                    "households": [hh.household_id],
                    "records": sorted([a["record_id"], b["record_id"]]),
                }
            )
        # Duplicate 5: households sharing a bank account, each on aid (the fraud-ring pattern).
        for _ring in range(max(1, k // 2)):
            members = [self.pick(lambda h: plain_poor(h), used) for _ in range(3)]
            members = [m for m in members if m]
            if len(members) < 3:
                continue
            account = f"6217{rng.randrange(10**14, 10**15)}"
            records = []
            for hh in members:
                hh.planted = "dup_ring"
                hh.members[0].bank = account
                records.append(self.enrol_dibao(hh)["record_id"])
            truth["duplicate_aid"].append(
                {
                    "kind": "shared_identifier_ring",
                    "identifier": "bank_account",
                    "value": account,
                    "persons": sorted(h.members[0].id_number for h in members),
                    "households": sorted(h.household_id for h in members),
                    "records": sorted(records),
                }
            )
        # A generic identifier: a village office phone many households gave. Not a case: the
        # audit must discount it rather than call every one of those households a ring.
        office = f"0717{rng.randrange(10**6, 10**7)}"
        village = self.households[0].region
        givers = [h for h in self.households if not h.planted and h.region == village][: max(12, self.n // 150)]
        for hh in givers:
            hh.members[0].phone = office
        truth["generic_identifiers"].append({"identifier": "phone", "value": office, "households": len(givers)})

    def identity_variants(self) -> None:
        """Department records that name a registered person differently (typos, variants).

        Only records that are never a household's sole assistance of their kind are varied, so a
        variant hides no aid the audit would then report missing (that is identity resolution's
        case to win, not the audit's to lose).
        """
        rng = self.rng
        person_records = [
            r
            for r in self.rows["aid_records"]
            if r["beneficiary_type"] == "person"
            and r["program_code"] in ("ZIZHU_CANBAO", "CANJI_HULI")
            and r["record_id"] not in self.exact_records
        ]
        rng.shuffle(person_records)
        n = max(4, self.n // 100)
        kinds = ["mistyped_digit", "transposed_digits", "traditional_name", "missing_character"]
        for i, row in enumerate(person_records[:n]):
            kind = kinds[i % len(kinds)]
            original = row["beneficiary_ref"]
            if kind == "mistyped_digit":
                pos = rng.randrange(6, 17)
                row["beneficiary_ref"] = original[:pos] + str((int(original[pos]) + rng.randint(1, 9)) % 10) + original[pos + 1 :]
            elif kind == "transposed_digits":
                pos = next((j for j in range(14, 6, -1) if original[j] != original[j + 1]), None)
                if pos is None:
                    continue
                row["beneficiary_ref"] = original[:pos] + original[pos + 1] + original[pos] + original[pos + 2 :]
            elif kind == "traditional_name":
                name = row["beneficiary_name"]
                if not any(c in _TRADITIONAL for c in name):
                    continue
                row["beneficiary_name"] = "".join(_TRADITIONAL.get(c, c) for c in name)
            elif kind == "missing_character":
                name = row["beneficiary_name"]
                if len(name) != 3:
                    continue
                row["beneficiary_name"] = name[0] + name[2]
            self.truth["identity_variants"].append(
                {
                    "kind": kind,
                    "register_id": original,
                    "file": "aid_records",
                    "record": row["record_id"],
                    "as_recorded": {"beneficiary_ref": row["beneficiary_ref"], "beneficiary_name": row["beneficiary_name"]},
                }
            )

    def samples(self) -> None:
        """Obligations and tiers the policy engine must reproduce, on unambiguous households."""
        rule = POLICY["maintenance_rule"]
        for hh in self.households:
            for child, chh in self.obligors_of.get(hh.household_id, []):
                pc = self.per_capita(chh)
                std = self.standard(chh.urban_rural)
                amount = round(max(0.0, pc - rule["k"] * std) * rule["share"], 2)
                self.truth["obligations"].append(
                    {
                        "obligor": child.id_number,
                        "obligor_household": chh.household_id,
                        "dependant_household": hh.household_id,
                        # Who the child owes: parents aged 60+ or without labour capacity.
                        "dependants": sorted(p.id_number for p in hh.members if _age_on(p.birth, AS_OF) >= 60 or p.labour == "none"),
                        "kind": "赡养 support of parents",
                        "obligor_household_per_capita_income": round(pc, 2),
                        "monthly_amount": amount,
                    }
                )
        for hh in self.households:
            if hh.planted or self.has_outside_obligors(hh) or any(p.major or p.disability in (1, 2) for p in hh.members):
                continue
            std = self.standard(hh.urban_rural)
            pc = self.per_capita(hh)
            tekun = hh.structure == "elderly_alone" and hh.monthly_income == 0 and hh.members[0].labour == "none"
            if not tekun and any(_without_labour_capacity(p) for p in hh.members):
                continue  # 特困 is judged person by person on each one's own income: not for this sample
            tier = (
                "特困"
                if tekun and hh.profile == "poor"
                else "低保"
                if pc < std
                else "低保边缘"
                if pc < std * POLICY["marginal_multiple"]
                else "none"
                if pc >= std * POLICY["watch_multiple"]
                else None
            )
            if tier is None:
                continue
            self.truth["tier_sample"].append(
                {"household": hh.household_id, "tier": tier, "per_capita_income": round(pc, 2), "standard": std, "size": len(hh.members)}
            )
        # Keep the sample a documented size: every 特困/低保/边缘 and every tenth of the others.
        sample = self.truth["tier_sample"]
        self.truth["tier_sample"] = [s for i, s in enumerate(sample) if s["tier"] != "none" or i % 10 == 0]

    def assets(self) -> None:
        rng = self.rng
        for hh in self.households:
            if rng.random() < 0.8:
                self.rows["assets"].append(
                    {
                        "asset_id": self.next_id("AS"),
                        "household_id": hh.household_id,
                        "kind": "house",
                        "quantity": "1",
                        "value": "",
                        "note": "",
                    }
                )
            if hh.urban_rural == "rural":
                self.rows["assets"].append(
                    {
                        "asset_id": self.next_id("AS"),
                        "household_id": hh.household_id,
                        "kind": "land_mu",
                        "quantity": f"{rng.randint(2, 30) / 2:g}",
                        "value": "",
                        "note": "contracted farmland",
                    }
                )
            if hh.profile in ("ok", "well_off") and rng.random() < 0.4:
                self.rows["assets"].append(
                    {
                        "asset_id": self.next_id("AS"),
                        "household_id": hh.household_id,
                        "kind": "vehicle",
                        "quantity": "1",
                        "value": str(rng.randint(3, 30) * 10000),
                        "note": "",
                    }
                )

    # -- output ----------------------------------------------------------------------------------

    def collect_people(self) -> None:
        for hh in self.households:
            self.rows["households"].append(
                {
                    "household_id": hh.household_id,
                    "region_code": hh.region,
                    "address": hh.address,
                    "urban_rural": hh.urban_rural,
                    "registered_size": str(len(hh.members)),
                }
            )
            for p in hh.members:
                self.rows["persons"].append(
                    {
                        "id_number": p.id_number,
                        "name": p.name,
                        "sex": p.sex,
                        "birth_date": p.birth.isoformat(),
                        "household_id": p.household_id,
                        "relation_to_head": p.relation,
                        "hukou_region_code": p.hukou,
                        "residence_region_code": p.residence,
                        "disability_grade": str(p.disability),
                        "chronic_illness": str(p.chronic).lower(),
                        "major_illness": str(p.major).lower(),
                        "labour_capacity": p.labour,
                        "employment": p.employment,
                        "phone": p.phone,
                        "bank_account": p.bank,
                        "deceased_on": p.deceased,
                    }
                )
            for row in self.rows_for_household_incomes.get(hh.household_id, []):
                row["income_id"] = self.next_id("INC")
                self.rows["incomes"].append(row)

    def write(self, out: Path) -> None:
        """Write this block's rows: the first block starts each file (and alone writes the regions,
        departments and programmes), the others append."""
        first = self.first == 0
        out.mkdir(parents=True, exist_ok=True)
        for name, spec in FILE_SPECS.items():
            if name in _WHOLE_PREFECTURE and not first:
                self.rows[name] = []
                continue
            with (out / f"{name}.csv").open("w" if first else "a", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, fieldnames=list(spec.columns), lineterminator="\n", extrasaction="raise")
                if first:
                    w.writeheader()
                for row in self.rows[name]:
                    w.writerow({c: row.get(c, "") for c in spec.columns})
        self.truth["counts"] = {name: len(rows) for name, rows in self.rows.items()}

    def run(self, out: Path) -> dict[str, Any]:
        self.make_regions()
        self.make_departments_and_programs()
        self.make_households()
        self.assign_incomes()
        self.make_kinship()
        self.make_needs_and_resources()
        self.plant()
        # Planting may change who is in a household and their income; re-spread the planted ones.
        for hh in self.households:
            if hh.planted == "dup_two_households":
                self.set_income(hh, hh.monthly_income)
        self.regular_aid()
        if self.ledgers:
            self.payment_ledgers()
        self.identity_variants()
        self.assets()
        self.samples()
        self.collect_people()
        self.write(out)
        return self.truth


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


_WHOLE_PREFECTURE = ("regions", "departments", "programs")


def generate_prefecture(*, households: int, seed: int, out: str | Path, ledgers: bool = False) -> dict[str, Any]:
    """Write a synthetic prefecture of ``households`` households to ``out``; return the truth.

    ``ledgers``: also write the departments' monthly payment lines (about 3 aid records a person).
    """
    if households < 20:
        raise ValueError("a prefecture needs at least 20 households to plant its cases")
    out = Path(out)
    blocks = -(-households // BLOCK_HOUSEHOLDS)
    ids: set[int] = set()
    counter: dict[str, int] = {}
    truth: dict[str, Any] = {}
    first = 0
    for b in range(blocks):
        size = households // blocks + (1 if b < households % blocks else 0)  # even blocks, each of 20 or more
        block = _Generator(
            size, seed, ledgers, total=households, first=first, block_seed=None if b == 0 else f"{seed}/{b}", ids=ids, counter=counter
        )
        found = block.run(out)
        if b == 0:
            truth = found
        else:
            for key, value in found.items():
                if key == "counts":
                    truth[key] = {name: truth[key][name] + n for name, n in value.items()}
                elif isinstance(value, list):
                    truth[key].extend(value)
        first += size
        del block, found
    for key in ("duplicate_aid", "missed_aid"):
        truth[key].sort(key=lambda c: (c["kind"], c["households"][0] if "households" in c else c["household"]))
    with (out / "truth.json").open("w", encoding="utf-8") as f:  # streamed: 150 MB of text at 6M people
        json.dump(truth, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    return truth
