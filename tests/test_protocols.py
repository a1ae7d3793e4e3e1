"""The protocol registry: one plugin module per protocol, found by name."""

import pytest

from instrack.errors import UsageError
from instrack.evaluation.protocols import PROTOCOLS, Protocol, get_protocol, register


def test_every_builtin_protocol_is_registered_and_complete():
    assert {"instrack", "davis-semi", "davis-unsup", "mevis"} <= set(PROTOCOLS)
    for name, protocol in PROTOCOLS.items():
        assert protocol.name == name and protocol.description and protocol.default_split
        assert type(protocol).plan is not Protocol.plan, name
        assert protocol.unit_key in ("exp_id", "object")


def test_names_are_unique():
    with pytest.raises(ValueError, match="already registered"):
        register(type(PROTOCOLS["mevis"])())


def test_a_near_miss_gets_a_suggestion():
    with pytest.raises(UsageError, match="did you mean 'davis-unsup'"):
        get_protocol("davis_unsup")
    with pytest.raises(UsageError, match="choose one of davis-semi, davis-unsup, instrack, mevis"):
        get_protocol("kitti")
