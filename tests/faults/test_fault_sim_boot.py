"""The controller simulator takes a fresh boot id at every boot and every reboot (PROTOCOL.md §5)."""

from __future__ import annotations

from hardware.simulator import ControllerSim, SimSettings


def test_two_boots_with_the_same_settings_differ() -> None:
    settings = SimSettings()  # the same seed for the belt, as the station uses
    first = ControllerSim(settings, now=0.0)
    second = ControllerSim(settings, now=0.0)
    assert first.boot_id != second.boot_id


def test_a_reboot_takes_a_new_boot_id() -> None:
    sim = ControllerSim(SimSettings(), now=0.0)
    seen = [sim.boot_id]
    for step in range(1, 4):
        sim.reboot(float(step))
        seen.append(sim.boot_id)
    assert len(set(seen)) == len(seen)


def test_a_boot_id_seed_makes_boots_repeatable() -> None:
    a = ControllerSim(SimSettings(boot_id_seed=7), now=0.0)
    b = ControllerSim(SimSettings(boot_id_seed=7), now=0.0)
    assert a.boot_id == b.boot_id
    a.reboot(1.0)
    b.reboot(1.0)
    assert a.boot_id == b.boot_id != ControllerSim(SimSettings(boot_id_seed=7), now=0.0).boot_id
