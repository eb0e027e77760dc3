"""The environment variables a job's process reads its logins from.

The runner sets them from OpenBao when it starts the process; they are never written into a
job's spec, its run record or its logs.
"""

S3_ACCESS_KEY_ENV = "AWS_ACCESS_KEY_ID"
S3_SECRET_KEY_ENV = "AWS_SECRET_ACCESS_KEY"  # noqa: S105 (an environment variable's name)
JDBC_USER_ENV = "JDBC_USER"
JDBC_PASSWORD_ENV = "JDBC_PASSWORD"  # noqa: S105 (an environment variable's name)
DEST_ACCESS_KEY_ENV = "NIDC_DEST_ACCESS_KEY"
DEST_SECRET_KEY_ENV = "NIDC_DEST_SECRET_KEY"  # noqa: S105 (an environment variable's name)
# A governed copy's HASH key, hex (OpenBao KV field "key" at the job's hashKeyPath).
MASK_HASH_KEY_ENV = "NIDC_MASK_HASH_KEY"
# A job's OpenBao token, bound to its tenant's column-key policy (jobs that encrypt or decrypt).
OPENBAO_TOKEN_ENV = "NIDC_OPENBAO_TOKEN"  # noqa: S105 (an environment variable's name)
