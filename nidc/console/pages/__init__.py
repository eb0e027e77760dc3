"""One module per page of the console: its handler and the I/O it needs."""
