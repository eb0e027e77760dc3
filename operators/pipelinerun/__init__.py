"""Drives each PipelineRun through the run state machine with a runner."""
