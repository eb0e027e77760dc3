"""A recipient's script, run by the official delta-sharing client's own Python (never ours).

    python sharing_recipient.py PROFILE COMMAND [ARG...]

Commands: `list` (shares, schemas, all tables as JSON); `load SHARE.SCHEMA.TABLE OUT.parquet
[auto|delta|parquet]` (the table through load_as_pandas in that response format, timed, written
with the client's pyarrow; `-` writes nothing); `changes SHARE.SCHEMA.TABLE STARTING_VERSION
OUT.parquet` (load_table_changes_as_pandas). It imports
only what a recipient has: delta_sharing and its dependencies. An HTTP error prints its status
and exits 3.
"""

import json
import sys
import time


def main(argv: list[str]) -> None:
    import delta_sharing
    from requests.exceptions import HTTPError

    profile, command, args = argv[0], argv[1], argv[2:]
    try:
        if command == "list":
            client = delta_sharing.SharingClient(profile)
            shares = client.list_shares()
            result = {
                "shares": [s.name for s in shares],
                "schemas": [
                    [s.share, s.name] for share in shares for s in client.list_schemas(share)
                ],
                "tables": [[t.share, t.schema, t.name] for t in client.list_all_tables()],
            }
            print(json.dumps(result))
        elif command == "load":
            started = time.perf_counter()
            formats = {"auto": None, "delta": True, "parquet": False}
            frame = delta_sharing.load_as_pandas(
                f"{profile}#{args[0]}", use_delta_format=formats[args[2] if args[2:] else "auto"]
            )
            seconds = time.perf_counter() - started  # the load alone, not the write below
            if args[1] != "-":
                frame.to_parquet(args[1], index=False)
            print(
                json.dumps({"rows": len(frame), "columns": list(frame.columns), "seconds": seconds})
            )
        elif command == "changes":
            frame = delta_sharing.load_table_changes_as_pandas(
                f"{profile}#{args[0]}", starting_version=int(args[1])
            )
            frame.to_parquet(args[2], index=False)
            print(json.dumps({"rows": len(frame), "columns": list(frame.columns)}))
        else:
            raise SystemExit(f"unknown command {command}")
    except HTTPError as error:
        print(json.dumps({"http_status": error.response.status_code, "error": str(error)[:500]}))
        raise SystemExit(3) from None


if __name__ == "__main__":
    main(sys.argv[1:])
