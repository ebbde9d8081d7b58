"""What a generated prefecture is made of: its day, the policy it plants against, its regions, names, departments and programmes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from policy.config import load_policy

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


#: Programmes paid month by month: the ones a payment ledger has a line a month for.
_MONTHLY = {"DIBAO", "TEKUN", "CANJI_HULI", "CANJI_SHENGHUO", "JIAOYU_JIUZHU", "JIUYE_JIUZHU"}


#: Households made and written at a time (about 0.7 GB of the generator's memory with ledgers).
BLOCK_HOUSEHOLDS = 50_000


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


_WHOLE_PREFECTURE = ("regions", "departments", "programs")
