"""The collector while `run` loads: paused, then what loading left alive frozen for the
command, and everything as it was found afterwards."""

import gc
from collections.abc import Iterator

import pytest

from bridge.cli.loading import collector_paused


@pytest.fixture
def collector() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()


@pytest.mark.usefixtures("collector")
def test_loading_pauses_the_collector_then_freezes_what_it_loaded_until_the_end() -> None:
    gc.enable()
    with collector_paused() as loaded:
        assert not gc.isenabled()
        kept = [object() for _ in range(10)]
        loaded()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(kept)
        loaded()  # a second mark changes nothing
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("collector")
def test_a_failure_while_loading_restores_the_collector_as_it_was() -> None:
    gc.disable()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the configuration is invalid")
    assert not gc.isenabled()
    assert gc.get_freeze_count() == 0
    gc.freeze()
    frozen = gc.get_freeze_count()
    with collector_paused() as loaded:
        loaded()
    assert gc.get_freeze_count() >= frozen  # what the caller froze stays frozen
