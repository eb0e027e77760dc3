"""Validators for industrial values: network identities, coordinates, control programs, recipes.

Each parses the value by the grammar of what it claims to be (an address family, RS-274 words,
IEC 61131-3 statements, element symbols with shares) rather than matching a loose shape.
"""

from __future__ import annotations

import ipaddress
import re

MAC = re.compile(
    r"^([0-9A-Fa-f]{2}([:-]))(?:[0-9A-Fa-f]{2}\2){4}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$"
)
# Positions are recorded to 4+ decimals (about 11 m); 3-decimal pairs are millimetre offsets.
NUMBER = r"[-+]?\d{1,3}\.\d{4,}"
COORDINATE_PAIR = re.compile(rf"^\(?\s*({NUMBER})\s*[,;/ ]\s*({NUMBER})\s*\)?$")
WKT_POINT = re.compile(rf"^POINT\s*\(\s*({NUMBER})\s+({NUMBER})\s*\)$", re.IGNORECASE)

# RS-274 / ISO 6983 word addresses; a block is words, optionally numbered, with comments.
GCODE_WORD = re.compile(r"([A-Z])\s*([-+]?(?:\d+\.?\d*|\.\d+))")
GCODE_COMMENT = re.compile(r"\([^)]*\)|;.*$")
GCODE_BLOCK_SEPARATORS = re.compile(r"[\n\r]+")

# IEC 61131-3 instruction list and Siemens STEP 7 statement list operators.
IL_OPERATOR_WORDS = (
    "LD LDN ST STN S R AND ANDN OR ORN XOR XORN NOT ADD SUB MUL DIV MOD GT GE EQ NE LE LT JMP "
    "JMPC JMPCN CAL CALC CALCN RET RETC RETCN A AN O ON X XN = L T FP FN JU JC JCN CALL BE BEU "
    "BEC NOP SET CLR SAVE"
)
IL_OPERATORS = frozenset(IL_OPERATOR_WORDS.split())
IL_WITHOUT_OPERAND = frozenset(
    ["NOT", "RET", "RETC", "RETCN", "BE", "BEU", "BEC", "NOP", "SET", "CLR", "SAVE"]
)
IL_OPERAND = re.compile(
    r"^(%?[IQM][XBWD]?\d+(\.\d+)?|[IQMTC]\d+(\.\d+)?|[MD][BWD]\d+|DB\d+\.DB[XBWD]\d+(\.\d+)?|"
    r"[TC]#?\d+|[A-Za-z_][A-Za-z0-9_]*|[-+]?\d+(\.\d+)?|[A-Z]+#[A-Za-z0-9_.]+)$"
)
IL_ADDRESS = re.compile(r"^(%?[IQM][XBWD]?\d|[IQM]\d|DB\d)")
IL_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*:\s*")

ELEMENT_SYMBOLS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se "
    "Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb "
    "Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm "
    "Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og"
)
ELEMENTS = frozenset(ELEMENT_SYMBOLS.split())
COMPOSITION_PART = re.compile(r"([A-Z][a-z]?)\s*[:=]?\s*(\d+(?:\.\d+)?)\s*%?")
COMPOSITION_SEPARATORS = re.compile(r"^[\s,;/|]*$")


def is_ip_address(value: str) -> bool:
    """An IPv4 or IPv6 address (no ports, no networks)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_mac_address(value: str) -> bool:
    """An EUI-48 hardware address, colon-, dash- or dot-separated."""
    return bool(MAC.match(value))


def _in_range(latitude: float, longitude: float) -> bool:
    return -90 <= latitude <= 90 and -180 <= longitude <= 180 and (latitude, longitude) != (0, 0)


def is_coordinates(value: str) -> bool:
    """A latitude/longitude pair (either order) in range, or a WKT point, with >= 4 decimals."""
    point = WKT_POINT.match(value)
    if point:
        return _in_range(float(point.group(2)), float(point.group(1)))
    pair = COORDINATE_PAIR.match(value)
    if not pair:
        return False
    first, second = float(pair.group(1)), float(pair.group(2))
    return _in_range(first, second) or _in_range(second, first)


def _gcode_words(block: str) -> list[str] | None:
    """The addresses of one line's RS-274 words, or None when the line is something else."""
    text = GCODE_COMMENT.sub("", block).strip().upper()
    if text in ("", "%"):
        return []
    words = GCODE_WORD.findall(text)
    if not words or GCODE_WORD.sub("", text).strip():
        return None
    return [address for address, _ in words]


def is_gcode(value: str) -> bool:
    """A G-code block or program: every line is RS-274 words, with a G code, or an M code among
    three or more words (so a bolt size such as M6x20 is not a program)."""
    blocks = [_gcode_words(b) for b in GCODE_BLOCK_SEPARATORS.split(value.strip())]
    if not blocks or any(b is None for b in blocks):
        return False
    addresses = [a for block in blocks for a in block or []]
    return "G" in addresses or ("M" in addresses and len(addresses) >= 3)


def _il_statement(statement: str) -> tuple[bool, bool]:
    """(is an IL/STL statement, addresses a PLC input/output/marker) for one statement."""
    text = IL_LABEL.sub("", statement.strip())
    if not text:
        return True, False
    parts = text.split()
    operator = parts[0].upper().rstrip("(")
    if operator not in IL_OPERATORS:
        return False, False
    if len(parts) == 1:
        return operator in IL_WITHOUT_OPERAND, False
    operand = parts[1].rstrip(";,")
    if len(parts) > 2 and not parts[2].startswith(("(*", "//")):
        return False, False
    return bool(IL_OPERAND.match(operand)), bool(IL_ADDRESS.match(operand.upper()))


def is_plc_instruction_list(value: str) -> bool:
    """IEC 61131-3 IL or STEP 7 STL: every statement parses and one addresses an I/O or marker."""
    statements = [s for s in re.split(r"[\n\r;]+", value) if s.strip()]
    parsed = [_il_statement(s) for s in statements]
    return bool(parsed) and all(ok for ok, _ in parsed) and any(io for _, io in parsed)


def is_composition(value: str) -> bool:
    """A material recipe: two or more element:share pairs, known elements, shares <= 100 %."""
    parts = COMPOSITION_PART.findall(value)
    if len(parts) < 2 or not COMPOSITION_SEPARATORS.match(COMPOSITION_PART.sub("", value)):
        return False
    symbols = [symbol for symbol, _ in parts]
    if len(set(symbols)) != len(symbols) or not all(s in ELEMENTS for s in symbols):
        return False
    return sum(float(share) for _, share in parts) <= 100.5
