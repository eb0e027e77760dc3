"""Content validators check what the issuing standard checks, not the shape of a value."""

from __future__ import annotations

import pytest
from stdnum.cn import ric

from nidc.governance.identity_validators import (
    is_bank_card,
    is_email,
    is_mobile_phone,
    is_personal_name,
    is_phone_number,
    is_resident_id,
    is_unified_social_credit_code,
)
from nidc.governance.industrial_validators import (
    is_composition,
    is_coordinates,
    is_gcode,
    is_ip_address,
    is_mac_address,
    is_plc_instruction_list,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("11010519491231002X", True),  # the GB 11643 worked example
        ("11010519491231002Y", False),  # not a check character
        ("110105194912310021", False),  # wrong check digit
        ("440305197408026282", True),  # Nanshan district code, born before it existed
        ("110105194913310028", False),  # month 13
        ("11010519491231002", False),  # 17 characters
    ],
)
def test_resident_id_checks_the_check_digit_the_date_and_the_county(
    value: str, valid: bool
) -> None:
    assert is_resident_id(value) is valid


def test_a_right_check_digit_on_an_unknown_county_is_refused() -> None:
    body = "99999919740802628"
    assert not is_resident_id(body + ric.calc_check_digit(body + "0"))
    body = "44030519740802628"
    assert is_resident_id(body + ric.calc_check_digit(body + "0"))


def test_every_eighteen_digit_shape_is_not_an_id() -> None:
    # 1 in 11 random bodies has the right check digit; the other 10 must all be refused.
    bodies = [f"11010519800101{n:03d}" for n in range(11)]
    accepted = [b for b in bodies for check in "0123456789X" if is_resident_id(b + check)]
    assert len(accepted) == len(bodies)


def test_credit_code_and_bank_card_checksums() -> None:
    assert is_unified_social_credit_code("91110000600037341L")
    assert not is_unified_social_credit_code("91110000600037341M")
    assert is_bank_card("4111111111111111")
    assert is_bank_card("4111 1111 1111 1111")
    assert not is_bank_card("4111111111111112")  # Luhn digit off by one
    assert not is_bank_card("9111111111111116")  # passes Luhn, no issuer starts with 9


def test_phone_numbers_use_the_numbering_plan_and_only_dial_characters() -> None:
    assert is_mobile_phone("13800138000")
    assert is_mobile_phone("+86 138 0013 8000")
    assert not is_mobile_phone("12345678901")  # no mobile range starts with 12
    assert not is_mobile_phone("02158881234")  # a Shanghai fixed line
    assert is_phone_number("021-58881234")
    assert not is_phone_number("SN2454637735")  # letters are not keypad digits here


def test_email_and_personal_names() -> None:
    assert is_email("liu.yang@steel.example.cn")
    assert not is_email("liu.yang@localhost")
    assert is_personal_name("张伟")
    assert is_personal_name("欧阳娜娜")
    assert is_personal_name("Zhang Wei")
    assert not is_personal_name("正常")  # 正 is no common surname
    assert not is_personal_name("Bearing Seal")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("N10 G90 G21\nN20 G00 X0 Y0 Z5.0\nN30 M03 S1200", True),
        ("G01 X12.5 Y-3.0 F200 (finish pass)", True),
        ("M6x20", False),  # a bolt, not M06
        ("M3", False),
        ("GO TO LINE 3", False),
    ],
)
def test_gcode(value: str, valid: bool) -> None:
    assert is_gcode(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("LD %IX0.0\nAND %IX0.1\nST %QX0.0", True),
        ("A I0.0; AN I0.1; = Q0.0", True),
        ("LD start_button", False),  # no I/O or marker is addressed
        ("LOAD the truck", False),
    ],
)
def test_plc_instruction_list(value: str, valid: bool) -> None:
    assert is_plc_instruction_list(value) is valid


def test_compositions_need_elements_and_shares_within_a_whole() -> None:
    assert is_composition("Cr:18.2%;Ni:8.1%;Mo:2.0%")
    assert is_composition("C 0.45, Mn 0.7, Si 0.25")
    assert not is_composition("Cr 80, Ni 40")  # 120 %
    assert not is_composition("Ab 3, Cd 4")  # Ab is no element
    assert not is_composition("A1 B2")


def test_network_identities_and_coordinates() -> None:
    assert is_ip_address("10.0.0.1") and is_ip_address("fd00::1")
    assert not is_ip_address("10.0.0.256")
    assert is_mac_address("00:1A:2B:3C:4D:5E") and is_mac_address("001a.2b3c.4d5e")
    assert not is_mac_address("00:1A-2B:3C:4D:5E")  # mixed separators
    assert is_coordinates("31.230416,121.473701")
    assert is_coordinates("POINT(121.47370 31.23041)")
    assert not is_coordinates("12.500,-3.250")  # millimetre offsets, three decimals
    assert not is_coordinates("95.12345,200.12345")  # out of range either way round
