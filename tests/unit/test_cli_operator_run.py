"""`nidc operator run` hands its options to `python -m operators` unchanged (and imports no
operator code to do so: the layering contract checks that)."""

from __future__ import annotations

import pytest

from nidc.cli import build_parser, operator_args
from operators.__main__ import build_parser as operator_parser

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--standalone"],
        ["--peering", "other", "--liveness", "http://0.0.0.0:8080/healthz"],
    ],
)
def test_the_operator_gets_the_options_it_was_given(argv: list[str]) -> None:
    given = build_parser().parse_args(["operator", "run", *argv])
    handed = operator_parser().parse_args(operator_args(given))
    assert (handed.standalone, handed.peering, handed.liveness) == (
        given.standalone,
        given.peering,
        given.liveness,
    )
