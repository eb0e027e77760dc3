"""A recipient's script, run by the official delta-sharing client's own Python (never ours).

    python sharing_recipient.py PROFILE COMMAND [ARG...]

Commands: `list` (shares, schemas, all tables as JSON); `load SHARE.SCHEMA.TABLE OUT.parquet
[auto|delta|parquet]` (the table through load_as_pandas in that response format, timed, written
with the client's pyarrow; `-` writes nothing); `load-twice SHARE.SCHEMA.TABLE` (load_as_pandas
twice in this process, both timed: the first pays the process's first-use costs, the second is
what a recipient that loads again pays); `changes SHARE.SCHEMA.TABLE STARTING_VERSION
OUT.parquet` (load_table_changes_as_pandas); `load-answered SHARE.SCHEMA.TABLE` (bench/sharing.py's
floor: the same load_as_pandas reader, timed after the server's answers were fetched once, so
the time is the client's own: writing the answer as a log, delta-kernel-rs reading the files
through their pre-signed URLs, pandas). It imports
only what a recipient has: delta_sharing and its dependencies. An HTTP error prints its status
and exits 3.
"""

import json
import sys
import time


def answered_reader(profile: str, share: str, schema: str, name: str):  # type: ignore[no-untyped-def]
    """A factory of the client's own reader whose REST calls answer from a first real call."""
    import copy

    from delta_sharing.protocol import DeltaSharingProfile, Table
    from delta_sharing.reader import DeltaSharingReader
    from delta_sharing.rest_client import DataSharingRestClient

    class AnsweredRestClient:
        """Requests go to the server once; later calls get a copy (the reader pops lines)."""

        def __init__(self, client: DataSharingRestClient) -> None:
            self.client = client
            self.answers: dict[tuple[str, str, str], object] = {}

        def __getattr__(self, method: str):  # type: ignore[no-untyped-def]
            call = getattr(self.client, method)
            if method not in ("list_files_in_table", "autoresolve_query_format"):
                return call  # header setters: the client's own state, no request

            def answered(*args, **kwargs):  # type: ignore[no-untyped-def]
                key = (method, repr(args), repr(sorted(kwargs.items())))
                if key not in self.answers:
                    self.answers[key] = call(*args, **kwargs)
                return copy.deepcopy(self.answers[key])

            return answered

    rest = AnsweredRestClient(DataSharingRestClient(DeltaSharingProfile.read_from_file(profile)))
    table = Table(name=name, share=share, schema=schema)
    return lambda: DeltaSharingReader(table=table, rest_client=rest)


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
        elif command == "load-twice":
            loads = []
            for _ in range(2):
                started = time.perf_counter()
                frame = delta_sharing.load_as_pandas(f"{profile}#{args[0]}")
                loads.append(time.perf_counter() - started)
            print(json.dumps({"rows": len(frame), "seconds": loads}))
        elif command == "load-answered":
            share, schema, name = args[0].split(".")
            reader = answered_reader(profile, share, schema, name)
            reader().to_pandas()  # fetches and keeps the server's answers
            started = time.perf_counter()
            frame = reader().to_pandas()
            seconds = time.perf_counter() - started
            print(json.dumps({"rows": len(frame), "seconds": seconds}))
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
