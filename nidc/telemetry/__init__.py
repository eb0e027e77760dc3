"""OpenTelemetry set-up shared by the operators and the Spark jobs."""
