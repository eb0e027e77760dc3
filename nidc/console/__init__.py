"""The center's web console (issue 18): server-rendered pages mounted in the catalog API."""
