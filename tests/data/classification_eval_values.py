"""Value factories of the labelled evaluation set (seeded: the same file every build)."""

from __future__ import annotations

import random
import string
from collections.abc import Callable

from stdnum import luhn
from stdnum.cn import ric, uscc

RNG = random.Random(20261130)  # noqa: S311 (test data, not secrets)
SAMPLE = 20

REGIONS = ["110105", "310104", "440305", "320102", "510107", "420106", "330106", "370202"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰"
PINYIN_SURNAMES = ["Zhang", "Wang", "Li", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou"]
PINYIN_GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Jun", "Yang", "Tao", "Ming", "Hua"]
EN_GIVEN = ["John", "Mary", "David", "Sarah", "Michael", "Laura", "Peter", "Anna", "James"]
EN_FAMILY = ["Smith", "Miller", "Brown", "Schmidt", "Weber", "Meyer", "Taylor", "Wilson"]
CITIES = [(39.9042, 116.4074), (31.2304, 121.4737), (23.1291, 113.2644), (30.5728, 104.0668)]


def digits(n: int) -> str:
    return "".join(RNG.choice(string.digits) for _ in range(n))


def resident_id() -> str:
    year = RNG.randint(1960, 2004)
    body = f"{RNG.choice(REGIONS)}{year}{RNG.randint(1, 12):02d}{RNG.randint(1, 28):02d}{digits(3)}"
    return body + ric.calc_check_digit(body + "0")


def credit_code() -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + RNG.choice(REGIONS) + "".join(RNG.choice(alphabet) for _ in range(9))
    return body + uscc.calc_check_digit(body + "0")


def bank_card() -> str:
    prefix = RNG.choice(["622202", "621700", "622848", "436742", "524094", "625965"])
    body = prefix + digits(RNG.choice([9, 9, 12]))
    return body + luhn.calc_check_digit(body)


def mobile() -> str:
    number = RNG.choice(["138", "139", "150", "186", "177", "199", "135"]) + digits(8)
    style = RNG.random()
    if style < 0.2:
        return f"+86 {number[:3]} {number[3:7]} {number[7:]}"
    return number


def han_name() -> str:
    return RNG.choice(SURNAMES) + "".join(RNG.choice(GIVEN) for _ in range(RNG.choice([1, 2])))


def latin_name() -> str:
    if RNG.random() < 0.6:
        return f"{RNG.choice(PINYIN_SURNAMES)} {RNG.choice(PINYIN_GIVEN)}"
    return f"{RNG.choice(EN_GIVEN)} {RNG.choice(EN_FAMILY)}"


def email() -> str:
    user = RNG.choice(PINYIN_GIVEN).lower() + "." + RNG.choice(PINYIN_SURNAMES).lower()
    return f"{user}{RNG.randint(1, 99)}@{RNG.choice(['steel.example.cn', 'qq.com', '163.com'])}"


def ip() -> str:
    if RNG.random() < 0.15:
        return f"fd00::{RNG.randint(1, 0xFFFF):x}:{RNG.randint(1, 0xFFFF):x}"
    return f"10.{RNG.randint(0, 255)}.{RNG.randint(0, 255)}.{RNG.randint(1, 254)}"


def mac() -> str:
    octets = [f"{RNG.randint(0, 255):02X}" for _ in range(6)]
    return ":".join(octets) if RNG.random() < 0.7 else "-".join(octets)


def coordinates() -> str:
    lat, lon = RNG.choice(CITIES)
    lat, lon = lat + RNG.uniform(-0.2, 0.2), lon + RNG.uniform(-0.2, 0.2)
    return f"{lat:.6f},{lon:.6f}" if RNG.random() < 0.8 else f"POINT({lon:.5f} {lat:.5f})"


def latitude() -> str:
    return f"{RNG.choice(CITIES)[0] + RNG.uniform(-0.2, 0.2):.6f}"


def gcode() -> str:
    lines = [f"N{10 * (i + 1)} " for i in range(RNG.randint(2, 6))]
    words = [
        "G00 X0 Y0 Z5.0",
        "G01 X{x} Y{y} F{f}",
        "G02 X{x} Y{y} I5.0 J0",
        "M03 S{s}",
        "G90 G21",
        "M05",
        "G01 Z-{z} F80",
        "T{t} M06",
    ]
    body = []
    for prefix in lines:
        template = RNG.choice(words)
        body.append(
            prefix
            + template.format(
                x=round(RNG.uniform(-50, 50), 3),
                y=round(RNG.uniform(-50, 50), 3),
                f=RNG.choice([100, 200, 350]),
                s=RNG.choice([1200, 2400, 8000]),
                z=round(RNG.uniform(0.5, 3), 2),
                t=RNG.randint(1, 12),
            )
        )
    return "\n".join(body) if RNG.random() < 0.7 else body[RNG.randrange(len(body))]


def plc_il() -> str:
    if RNG.random() < 0.5:
        ops = [
            "LD %IX0.{a}",
            "AND %IX0.{b}",
            "ANDN %IX1.{a}",
            "OR %MX10.{b}",
            "ST %QX0.{a}",
            "LDN %IX2.{b}",
            "S %QX1.{a}",
            "R %QX1.{b}",
        ]
    else:
        ops = ["A I0.{a}", "AN I0.{b}", "O M10.{a}", "= Q0.{b}", "L MW{w}", "T MW{w}", "S Q1.{a}"]
    chosen = [
        RNG.choice(ops).format(a=RNG.randint(0, 7), b=RNG.randint(0, 7), w=2 * RNG.randint(1, 40))
        for _ in range(RNG.randint(2, 6))
    ]
    if not any(c.split()[1].lstrip("%")[0] in "IQM" for c in chosen):
        chosen.append("ST %QX0.0")
    return "\n".join(chosen) if RNG.random() < 0.6 else "; ".join(chosen)


def composition() -> str:
    elements = RNG.sample(
        ["C", "Si", "Mn", "Cr", "Ni", "Mo", "Cu", "Ti", "V", "Nb"], RNG.randint(3, 6)
    )
    parts = [(e, round(RNG.uniform(0.05, 18 if e in ("Cr", "Ni") else 2.0), 2)) for e in elements]
    style = RNG.choice(["{e}:{v}%", "{e} {v}", "{e}={v}"])
    sep = RNG.choice([";", ", ", " "])
    return sep.join(style.format(e=e, v=v) for e, v in parts)


def number(low: float, high: float, places: int = 2) -> Callable[[], str]:
    return lambda: f"{RNG.uniform(low, high):.{places}f}"


def integer(low: int, high: int) -> Callable[[], str]:
    return lambda: str(RNG.randint(low, high))


def choice(*options: str) -> Callable[[], str]:
    return lambda: RNG.choice(options)


def timestamp() -> str:
    day = f"2026-{RNG.randint(1, 11):02d}-{RNG.randint(1, 28):02d}"
    return f"{day}T{RNG.randint(0, 23):02d}:{RNG.randint(0, 59):02d}:00Z"


def code(prefix: str, width: int) -> Callable[[], str]:
    return lambda: f"{prefix}{digits(width)}"


def masked_id() -> str:
    return resident_id()[:6] + "********" + digits(3) + "X"


def fake_card() -> str:
    # 16 digits that fail the Luhn check: the shape of a card, not a card.
    body = "62" + digits(13)
    wrong = (int(luhn.calc_check_digit(body)) + RNG.randint(1, 9)) % 10
    return body + str(wrong)


def firmware() -> str:
    return f"{RNG.randint(1, 4)}.{RNG.randint(0, 20)}.{RNG.randint(0, 9)}"


def free_text() -> str:
    return RNG.choice(
        [
            "设备运行正常",
            "更换刀具后恢复",
            "夜班巡检无异常",
            "Operator reported noise",
            "Filter replaced",
            "润滑油补充完毕",
            "待质检确认",
        ]
    )


def xy_offset() -> str:
    # Robot offsets in millimetres: two numbers with three decimals, shaped like coordinates.
    return f"{RNG.uniform(-40, 40):.3f},{RNG.uniform(-40, 40):.3f}"


def build_number() -> str:
    return f"{RNG.randint(1, 9)}.{RNG.randint(0, 20)}.{RNG.randint(0, 9)}.{RNG.randint(100, 999)}"


def phone_mix() -> str:
    return mobile() if RNG.random() < 0.5 else f"0{RNG.choice(['21', '10', '755'])}-{digits(8)}"


def empty() -> str:
    return ""
