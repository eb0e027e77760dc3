"""Validators for personal and enterprise identities: checksums and number plans, not shapes.

A value that merely looks like an ID (18 digits, 16 digits) is not one: each validator checks
what the issuing standard checks (GB 11643 check digit and birth date, GB 32100 check
character, the Luhn digit of card numbers, the mobile ranges of the numbering plan).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

import phonenumbers
from stdnum import luhn, numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from nidc.governance.policy_files import read_word_list

SEPARATORS = re.compile(r"[\s-]")
# Issuer identification numbers of cards seen in China: UnionPay 62/81, Visa 4, Mastercard
# 51-55 and 2221-2720, JCB 35, American Express 34/37 (15 digits).
CARD_PREFIX = re.compile(r"^(62|81|4|5[1-5]|2[2-7]|35|3[47])")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}$")
HAN_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,5}$")
LATIN_NAME = re.compile(r"^[A-Z][a-z]+([ -][A-Z][a-z]+){1,2}$")
# libphonenumber reads letters as keypad digits (SN24... -> 7624...): only dial characters.
DIAL_TEXT = re.compile(r"^\+?[0-9 ()-]{7,20}$")
MOBILE_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)


def is_resident_id(value: str) -> bool:
    """A mainland resident identity number: GB 11643 check digit, a real birth date, a known
    county code.

    stdnum's own is_valid also demands that the county existed in the birth year; numbers are
    coded by the county that issued them, so people born before a county was created carry its
    code, and that check refuses real numbers (seen on Shenzhen and Qingdao districts).
    """
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789X":
        return False
    if value[17] != ric.calc_check_digit(value):
        return False
    try:
        born = ric.get_birth_date(value)
    except ValidationError:
        return False
    places = numdb.get("cn/loc").info(value[:6])
    return born <= dt.date.today() and any("county" in props for _, props in places)


def is_unified_social_credit_code(value: str) -> bool:
    """A unified social credit code of an organisation (GB 32100 check character)."""
    return len(value) == 18 and bool(uscc.is_valid(value))


def is_bank_card(value: str) -> bool:
    """A payment card number: known issuer prefix, 15-19 digits, valid Luhn digit."""
    digits = SEPARATORS.sub("", value)
    return (
        digits.isdigit()
        and 15 <= len(digits) <= 19
        and bool(CARD_PREFIX.match(digits))
        and bool(luhn.is_valid(digits))
    )


def is_mobile_phone(value: str) -> bool:
    """A mainland China mobile number, with or without +86."""
    if not DIAL_TEXT.match(value):
        return False
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return False
    return (
        number.country_code == 86
        and phonenumbers.is_valid_number(number)
        and phonenumbers.number_type(number) in MOBILE_TYPES
    )


def is_phone_number(value: str) -> bool:
    """A mainland China number, mobile or fixed line with its area code."""
    if not DIAL_TEXT.match(value):
        return False
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return False
    return number.country_code == 86 and phonenumbers.is_valid_number(number)


def is_email(value: str) -> bool:
    """An e-mail address."""
    return bool(EMAIL.match(value))


@cache
def han_surnames() -> tuple[frozenset[str], frozenset[str]]:
    """Single- and two-character Chinese surnames (policies/dictionaries/surnames-zh.txt)."""
    names = read_word_list("surnames-zh.txt")
    return (
        frozenset(n for n in names if len(n) == 1),
        frozenset(n for n in names if len(n) == 2),
    )


@cache
def latin_name_words() -> frozenset[str]:
    """Given names and the pinyin of Chinese surnames, lower case."""
    from pypinyin import Style, lazy_pinyin  # heavy: loaded on first use (name_tokens.py)

    single, double = han_surnames()
    pinyin = {"".join(lazy_pinyin(name, style=Style.NORMAL)) for name in single | double}
    return frozenset(pinyin | {w.lower() for w in read_word_list("given-names-en.txt")})


def is_personal_name(value: str) -> bool:
    """A person's name: a Chinese surname and a short given name, or a known name in Latin."""
    if HAN_NAME.match(value):
        single, double = han_surnames()
        if value[:2] in double and 3 <= len(value) <= 4:
            return True
        return value[0] in single and 2 <= len(value) <= 4
    if LATIN_NAME.match(value):
        words = latin_name_words()
        parts = re.split(r"[ -]", value.lower())
        return parts[0] in words or parts[-1] in words
    return False
