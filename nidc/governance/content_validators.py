"""The content validators a detector can name, and what each demands of a sample."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nidc.api.classification_policy import ContentValidator
from nidc.governance import identity_validators as identity
from nidc.governance import industrial_validators as industrial


@dataclass(frozen=True)
class ValueCheck:
    """A validator and the share of distinct values a matching sample must have.

    Names repeat less than status words do: a column of 高温/正常 values whose first character
    happens to be a surname is not a column of people, and a column of personal names has many
    distinct values.
    """

    check: Callable[[str], bool]
    min_distinct: float = 0.0


VALUE_CHECKS: dict[ContentValidator, ValueCheck] = {
    ContentValidator.RESIDENT_ID: ValueCheck(identity.is_resident_id),
    ContentValidator.UNIFIED_SOCIAL_CREDIT_CODE: ValueCheck(identity.is_unified_social_credit_code),
    ContentValidator.BANK_CARD: ValueCheck(identity.is_bank_card),
    ContentValidator.MOBILE_PHONE: ValueCheck(identity.is_mobile_phone),
    ContentValidator.PHONE_NUMBER: ValueCheck(identity.is_phone_number),
    ContentValidator.EMAIL: ValueCheck(identity.is_email),
    ContentValidator.PERSONAL_NAME: ValueCheck(identity.is_personal_name, min_distinct=0.5),
    ContentValidator.IP_ADDRESS: ValueCheck(industrial.is_ip_address),
    ContentValidator.MAC_ADDRESS: ValueCheck(industrial.is_mac_address),
    ContentValidator.COORDINATES: ValueCheck(industrial.is_coordinates),
    ContentValidator.GCODE: ValueCheck(industrial.is_gcode),
    ContentValidator.PLC_INSTRUCTION_LIST: ValueCheck(industrial.is_plc_instruction_list),
    ContentValidator.COMPOSITION: ValueCheck(industrial.is_composition),
}
