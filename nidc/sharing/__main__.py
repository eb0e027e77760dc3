"""`python -m nidc.sharing`: run the Delta Sharing server (settings from the environment)."""

from nidc.sharing.server import main

main()
