"""One periodic sweep per kind instead of a kopf timer per object (docs/decisions/0090).

A kind's watch events feed an in-memory index of when each object is next due (a cron tick, a
backoff, a run to poll); one task per kind wakes at the earliest due time, or when something
wakes a key (a run's driver pod ended, a run finished under its parent), and reconciles only
what is due. An index entry is a key and a time, so memory stays flat per object.
"""
