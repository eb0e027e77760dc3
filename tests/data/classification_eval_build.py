"""Build classification_eval.json: the labelled evaluation set of the classification engine.

Run `python tests/data/classification_eval_build.py` to rebuild (seeded, so the file does not
change). Every column is labelled by what it *is* (its category and grade under the baseline
category tree in policies/classification/national-baseline.yaml), decided here by hand, never
by running the engine. `revealed` says whether a careful reviewer could tell the category from
the column's name or its values alone; columns whose meaning lives only in a tenant's head
(an opaque name over plain numbers) are kept, marked revealed=false, and excluded from the
recall goal only.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from pathlib import Path

from stdnum import luhn
from stdnum.cn import ric, uscc

OUT = Path(__file__).with_name("classification_eval.json")
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
    return body + str(ric.calc_check_digit(body + "0"))


def credit_code() -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + RNG.choice(REGIONS) + "".join(RNG.choice(alphabet) for _ in range(9))
    return body + str(uscc.calc_check_digit(body + "0"))


def bank_card() -> str:
    prefix = RNG.choice(["622202", "621700", "622848", "436742", "524094", "625965"])
    body = prefix + digits(RNG.choice([9, 9, 12]))
    return body + str(luhn.calc_check_digit(body))


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


# (category, grade, revealed, value factory, names)
COLUMNS: list[tuple[str, int, bool, Callable[[], str], list[str]]] = [
    (
        "personal-identity",
        2,
        True,
        resident_id,
        [
            "身份证号",
            "客户身份证号码",
            "员工身份证",
            "证件号码",
            "sfzh",
            "sfzhm",
            "SFZH",
            "id_card_no",
            "idCardNumber",
            "citizen_id",
            "resident_id",
            "national_id",
            "col_017",
            "f12",
            "c_a9",
            "field_3",
            "x_2",
            "备用字段1",
            "holder",
            "k7",
        ],
    ),
    ("personal-identity", 2, True, masked_id, ["身份证号_脱敏", "idcard_masked", "sfzh_tm"]),
    ("personal-identity", 2, True, empty, ["passport_no", "护照号码", "证件号"]),
    (
        "personal-financial",
        2,
        True,
        bank_card,
        [
            "银行卡号",
            "收款银行卡号",
            "工资卡号",
            "yhkh",
            "bank_card",
            "bankCardNo",
            "card_number",
            "payroll_card_no",
            "pay_acct",
            "col_021",
            "f07",
            "acct",
            "v_3",
            "备用字段2",
            "c_b2",
        ],
    ),
    ("personal-financial", 2, True, empty, ["银行账号", "bank_account", "iban"]),
    (
        "personal-contact",
        2,
        True,
        mobile,
        [
            "手机号",
            "手机号码",
            "联系电话",
            "客户电话",
            "sjh",
            "lxdh",
            "phone",
            "mobile",
            "cellphone",
            "contact_tel",
            "MobileNo",
            "col_031",
            "f05",
            "cx",
            "备用字段3",
            "notify_to",
        ],
    ),
    (
        "personal-contact",
        2,
        True,
        email,
        ["邮箱", "电子邮箱", "email", "e_mail", "contact_email", "col_044", "f19", "reply_to"],
    ),
    (
        "personal-contact",
        2,
        True,
        choice("上海市浦东新区张江路88号", "北京市海淀区中关村大街1号", "广州市天河区体育西路3号"),
        ["家庭住址", "home_address", "住址"],
    ),
    (
        "personal-name",
        2,
        True,
        han_name,
        [
            "姓名",
            "客户姓名",
            "员工姓名",
            "联系人",
            "法人代表",
            "xm",
            "khxm",
            "customer_name",
            "employee_name",
            "col_052",
            "f22",
            "inspector",
            "值班人",
            "holder_nm",
            "c_d1",
        ],
    ),
    (
        "personal-name",
        2,
        True,
        latin_name,
        ["full_name", "contact_person", "operator_name", "col_061", "f30", "signed_by"],
    ),
    (
        "enterprise-identity",
        2,
        True,
        credit_code,
        [
            "统一社会信用代码",
            "社会信用代码",
            "供应商信用代码",
            "tyshxydm",
            "uscc",
            "credit_code",
            "supplier_uscc",
            "col_071",
            "f41",
            "org_code",
            "c_e5",
            "taxpayer_id",
        ],
    ),
    (
        "network-identity",
        2,
        True,
        ip,
        [
            "IP地址",
            "设备IP",
            "ip",
            "ip_address",
            "host_ip",
            "plc_ip",
            "col_081",
            "f50",
            "addr",
            "gw",
        ],
    ),
    (
        "network-identity",
        2,
        True,
        mac,
        ["MAC地址", "物理地址", "mac", "mac_address", "col_091", "f55", "hw_addr", "nic"],
    ),
    (
        "location",
        2,
        True,
        coordinates,
        [
            "经纬度",
            "位置坐标",
            "坐标",
            "gps",
            "geolocation",
            "coordinates",
            "col_101",
            "f60",
            "pos",
            "site_loc",
        ],
    ),
    ("location", 2, True, latitude, ["纬度", "latitude", "lat"]),
    (
        "control-program",
        3,
        True,
        gcode,
        [
            "数控程序",
            "加工程序",
            "NC程序",
            "G代码",
            "gcode",
            "nc_program",
            "part_program",
            "cnc_program",
            "col_111",
            "f70",
            "prog",
            "blk",
            "程序段",
        ],
    ),
    (
        "control-program",
        3,
        True,
        plc_il,
        [
            "PLC程序",
            "指令表",
            "梯形图指令",
            "plc_program",
            "instruction_list",
            "stl_code",
            "col_121",
            "f75",
            "logic",
            "net_1",
        ],
    ),
    (
        "recipe",
        3,
        True,
        composition,
        [
            "配方",
            "合金配方",
            "化学成分",
            "合金成分",
            "成分配比",
            "gypf",
            "recipe",
            "alloy_composition",
            "formula",
            "formulation",
            "col_131",
            "f80",
            "chem",
            "spec_c",
            "melt_mix",
        ],
    ),
    ("recipe", 3, True, number(0.5, 18.0), ["配方_铬含量", "recipe_cr_pct"]),
    ("recipe", 3, False, number(0.5, 18.0), ["cr_pct", "ni_pct", "mo_pct"]),
    (
        "process-parameter",
        2,
        True,
        number(150, 1250, 1),
        [
            "设定温度",
            "炉温设定值",
            "主轴转速设定值",
            "目标值",
            "给定值",
            "工艺参数",
            "sdz",
            "gycs",
            "temp_setpoint",
            "spindle_speed_sp_setpoint",
            "pressure_setpoint",
            "set_value",
            "target_value",
            "process_parameter",
            "SetPoint",
            "furnaceSetpoint",
        ],
    ),
    (
        "process-parameter",
        2,
        False,
        number(150, 1250, 1),
        ["sp1", "tv_03", "col_141", "f85", "p_a"],
    ),
    ("design-drawing", 2, True, code("DWG-", 6), ["图纸", "设计图", "cad_file", "drawing", "bom"]),
    (
        "finance",
        2,
        True,
        number(3000, 45000),
        [
            "工资",
            "薪资",
            "月薪酬",
            "salary",
            "monthly_wage",
            "unit_cost",
            "成本",
            "利润",
            "profit",
            "bonus",
        ],
    ),
    ("supply-chain", 2, True, number(10, 900), ["采购价", "供货价", "purchase_price"]),
    (
        "supply-chain",
        2,
        True,
        choice("宝钢股份", "鞍钢集团", "Schaeffler AG", "SKF China"),
        ["供应商", "supplier", "vendor"],
    ),
    (
        "platform-knowledge-model",
        2,
        True,
        choice("s3://models/spindle/v3", "kb-weld-defects-v2"),
        ["模型库", "知识库", "model_library", "knowledge_base"],
    ),
    (
        "operating-state",
        1,
        True,
        number(20, 95, 2),
        ["温度", "主轴温度", "炉温", "temperature", "spindle_temp", "wdz", "bearing_temp"],
    ),
    (
        "operating-state",
        1,
        True,
        number(0.1, 1.6, 3),
        ["压力", "管道压力", "pressure", "hydraulic_pressure", "振动", "vibration_rms", "vib_x"],
    ),
    (
        "operating-state",
        1,
        True,
        number(800, 12000, 0),
        [
            "转速",
            "主轴转速",
            "spindle_speed",
            "rpm",
            "motor_rpm",
            "电流",
            "current_a",
            "电压",
            "voltage",
            "功率",
            "power_kw",
            "流量",
            "flow_rate",
            "扭矩",
            "torque",
        ],
    ),
    (
        "operating-state",
        1,
        False,
        number(0, 100, 2),
        ["col_201", "col_202", "f101", "f102", "v1", "v2", "ch_03", "ai_12", "tag_4711", "x"],
    ),
    (
        "equipment-identity",
        1,
        True,
        code("SN", 10),
        [
            "设备编号",
            "序列号",
            "出厂编号",
            "serial_no",
            "serial_number",
            "device_sn",
            "asset_no",
            "machine_id",
            "equipment_id",
            "sbbh",
        ],
    ),
    (
        "production-record",
        1,
        True,
        integer(0, 5000),
        ["产量", "日产量", "output_qty", "good_count", "scrap_count", "合格数"],
    ),
    (
        "production-record",
        1,
        True,
        code("WO", 8),
        ["工单号", "work_order", "batch_no", "批次号", "lot_no"],
    ),
    (
        "production-record",
        1,
        True,
        choice("A", "B", "C", "早班", "中班", "夜班"),
        ["班次", "shift"],
    ),
    ("logistics", 1, True, code("SF", 12), ["运单号", "waybill_no", "tracking_no", "物流单号"]),
    (
        "logistics",
        1,
        True,
        choice("顺丰速运", "中通快递", "DHL", "京东物流"),
        ["承运商", "carrier"],
    ),
    (
        "system-log",
        1,
        True,
        free_text,
        ["日志", "备注", "remark", "log_text", "event_message", "说明"],
    ),
    (
        "system-log",
        1,
        True,
        choice("OVERHEAT", "E-STOP", "DOOR_OPEN", "LOW_OIL", "NONE"),
        ["报警代码", "alarm", "告警", "fault"],
    ),
    (
        "unclassified",
        1,
        True,
        timestamp,
        [
            "采集时间",
            "ts",
            "timestamp",
            "created_at",
            "updated_at",
            "event_time",
            "时间戳",
            "col_301",
        ],
    ),
    (
        "unclassified",
        1,
        True,
        choice("正常", "停机", "报警", "待机", "高温"),
        ["状态", "运行状态", "status", "state", "col_302", "f201"],
    ),
    ("unclassified", 1, True, choice("RUN", "IDLE", "STOP", "MAINT"), ["mode", "machine_state"]),
    (
        "unclassified",
        1,
        True,
        choice("轴承", "齿轮", "刀具", "主轴", "Bearing 6205", "Seal kit"),
        ["物料名称", "产品名称", "product_name", "part_name", "item", "col_303"],
    ),
    (
        "unclassified",
        1,
        True,
        choice("OK", "NG", "PASS", "FAIL"),
        ["质检结果", "qc_result", "result"],
    ),
    (
        "unclassified",
        1,
        True,
        integer(1, 999),
        [
            "recipe_id",
            "配方编号",
            "program_no",
            "程序号",
            "drawing_no",
            "id",
            "seq",
            "行号",
            "row_id",
            "line_no",
            "station",
        ],
    ),
    (
        "unclassified",
        1,
        True,
        choice("316L-标准", "Q235-淬火", "6061-T6"),
        ["recipe_name", "配方名称"],
    ),
    ("unclassified", 1, True, code("", 18), ["订单号", "order_no", "col_304", "f202", "trade_ref"]),
    ("unclassified", 1, True, fake_card, ["barcode", "条码", "col_305", "f203"]),
    ("unclassified", 1, True, code("20", 9), ["物料编码", "material_code", "col_306"]),
    ("unclassified", 1, True, firmware, ["固件版本", "firmware_version", "fw"]),
    ("unclassified", 1, True, choice("mm", "kg", "℃", "MPa", "rpm"), ["单位", "unit", "uom"]),
    ("unclassified", 1, True, choice("true", "false"), ["is_valid", "是否有效", "enabled", "flag"]),
    ("unclassified", 1, True, number(0, 1, 4), ["oee", "availability", "良率", "ratio"]),
    (
        "unclassified",
        1,
        True,
        choice("车间A", "车间B", "一号线", "二号线", "Line 3"),
        ["车间", "产线", "workshop", "line", "area"],
    ),
    (
        "unclassified",
        1,
        True,
        choice("华东", "华南", "华北", "西南"),
        ["区域", "region", "sales_region"],
    ),
    ("operating-state", 1, True, xy_offset, ["xy_offset_mm", "tool_offset", "col_309"]),
    ("unclassified", 1, True, build_number, ["fw_build", "软件版本", "col_310"]),
    ("unclassified", 1, True, choice("IP54", "IP65", "IP67"), ["ip_rating", "防护等级"]),
    ("unclassified", 1, True, code("CC", 4), ["cost_center", "成本中心"]),
    (
        "unclassified",
        1,
        True,
        choice("马达", "高压泵", "方向阀", "温控器", "龙门铣", "曲轴"),
        ["设备名称", "equipment_name", "col_311"],
    ),
    ("operating-state", 1, True, number(0.8, 0.99, 3), ["pf", "power_factor", "功率因数"]),
    ("personal-contact", 2, True, phone_mix, ["联系方式", "col_045", "f20"]),
    (
        "unclassified",
        1,
        True,
        number(0, 300, 1),
        ["col_307", "col_308", "f204", "f205", "m1", "m2"],
    ),
]


def build() -> list[dict[str, object]]:
    rows = []
    for category, grade, revealed, factory, names in COLUMNS:
        for name in names:
            values = [factory() for _ in range(SAMPLE)]
            rows.append(
                {
                    "name": name,
                    "values": [v for v in values if v != ""],
                    "category": category,
                    "grade": grade,
                    "revealed": revealed,
                }
            )
    return rows


if __name__ == "__main__":
    rows = build()
    OUT.write_text(
        "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n",
        encoding="utf-8",
    )
    print(f"wrote {len(rows)} columns to {OUT}")
