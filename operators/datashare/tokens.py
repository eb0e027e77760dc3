"""A recipient's token in OpenBao: vend, adopt, rotate and revoke (I/O).

Order, each step safe to repeat: the profile (which alone holds the token) is written first,
then the token's record; a restarted pass reads the profile back and writes a missing record,
so no second token and no orphaned record. A rotation writes the new profile as a new KV
version, the new record, then deletes the records of the profile's older versions and destroys
those versions: a crash anywhere leaves older versions that the next pass finds and cleans up
(`forget_older_tokens`). Revocation deletes the record of every version, then the profile.
"""

from __future__ import annotations

import datetime as dt

from nidc.api.data_share import DataShare, Recipient
from operators.clients.context import OperatorContext
from operators.datashare.audit_events import revoked_event, rotated_event, vended_event
from operators.datashare.profile import (
    HeldToken,
    build_profile,
    build_record,
    new_token,
    read_profile,
    record_path,
    rotation_reason,
    token_expiry,
)
from operators.reconciling.audit import record


def kv_ttl(expires: dt.datetime, now: dt.datetime) -> int:
    """Seconds OpenBao keeps a version: OpenBao itself deletes it once the token expired."""
    return int((expires - now).total_seconds()) + 1


def forget_older_tokens(ctx: OperatorContext, path: str, current: HeldToken | None) -> None:
    """Delete the records of the tokens the profile's older versions hold (not the current
    one's) and destroy those versions."""
    older = ctx.openbao.kv_older_versions(path)
    for version in older:
        held = read_profile(ctx.openbao.read_kv_version(path, version))
        if held is not None and (current is None or held.token != current.token):
            ctx.openbao.delete_kv(held.record_path)
    ctx.openbao.destroy_kv_versions(path, older)


def write_token(
    ctx: OperatorContext,
    share: DataShare,
    recipient: Recipient,
    path: str,
    endpoint: str,
    expires: dt.datetime,
    now: dt.datetime,
) -> HeldToken:
    """Profile first, then record."""
    token = new_token()
    ttl = kv_ttl(expires, now)
    ctx.openbao.write_kv_with_ttl(path, build_profile(token, endpoint, expires), ttl)
    ctx.openbao.write_kv_with_ttl(
        record_path(token), build_record(share.namespace, share.name, recipient.name, expires), ttl
    )
    return HeldToken(token, expires, endpoint)


def ensure_token(
    ctx: OperatorContext,
    share: DataShare,
    recipient: Recipient,
    path: str,
    endpoint: str,
    ttl: dt.timedelta,
    cap: dt.datetime | None,
    tables: list[str],
    now: dt.datetime,
) -> dt.datetime:
    """Vend, adopt or rotate the recipient's token; returns its expiry."""
    held = read_profile(ctx.openbao.read_kv(path))
    if held is None:
        expires = token_expiry(now, ttl, cap)
        # Recorded before anything is vended (fail closed).
        record(ctx, vended_event(share, recipient, path, expires, tables))
        held = write_token(ctx, share, recipient, path, endpoint, expires, now)
    else:
        why = rotation_reason(held, now, ttl, cap, endpoint)
        if why:
            expires = token_expiry(now, ttl, cap)
            record(ctx, rotated_event(share, recipient, path, expires, why))
            held = write_token(ctx, share, recipient, path, endpoint, expires, now)
        elif ctx.openbao.read_kv(held.record_path) is None:
            # A crash between profile and record: the profile's token gets its record.
            ctx.openbao.write_kv_with_ttl(
                held.record_path,
                build_record(share.namespace, share.name, recipient.name, held.expires),
                kv_ttl(held.expires, now),
            )
    forget_older_tokens(ctx, path, held)
    return held.expires


def revoke_token(
    ctx: OperatorContext,
    share: DataShare,
    recipient: Recipient,
    path: str,
    why: str,
    message: str,
) -> bool:
    """Delete every record the profile's versions hold, then the profile; True when there was
    one (the revocation is then an audit record)."""
    current = read_profile(ctx.openbao.read_kv(path))
    had = current is not None or bool(ctx.openbao.kv_older_versions(path))
    if current is not None:
        ctx.openbao.delete_kv(current.record_path)
    forget_older_tokens(ctx, path, None)
    if had:
        ctx.openbao.delete_kv(path)
        expires = current.expires if current is not None else None
        record(ctx, revoked_event(share, recipient, expires, why, message))
    return had
