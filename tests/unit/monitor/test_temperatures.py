"""Temperatures from ENTITY-SENSOR-MIB (RFC 3433) and LM-SENSORS-MIB column values, as a walk returns them.

No recorded device here exposes sensors (the lab's namespaces have none, nor do the fleet's
recordings), so the columns are written from the MIB definitions: the arithmetic is the MIB's.
"""

from __future__ import annotations

from netwarden.monitor.poller import temperatures


def test_entity_sensors_in_celsius_with_scale_and_precision() -> None:
    cols = {
        # index 1: 41.5 °C as 415 with precision 1; index 2: 38 °C in milli-units (scale milli(8)) = 38000;
        # index 3: a fan (rpm(10)), index 4: a celsius sensor that is unavailable(2), index 5: absurd.
        "sensor_type": {"1": 8, "2": 8, "3": 10, "4": 8, "5": 8},
        "sensor_scale": {"1": 9, "2": 8, "3": 9, "4": 9, "5": 9},
        "sensor_precision": {"1": 1, "2": 0, "3": 0, "4": 0, "5": 0},
        "sensor_value": {"1": 415, "2": 38000, "3": 5200, "4": 40, "5": 4000},
        "sensor_status": {"1": 1, "2": 1, "3": 1, "4": 2, "5": 1},
    }
    assert temperatures(cols) == {"sensor1": 41.5, "sensor2": 38.0}


def test_lm_sensors_in_thousandths_named_by_device() -> None:
    cols = {"lm_temp_name": {"1": b"Core 0", "2": b"Core 1"}, "lm_temp_value": {"1": 52000, "2": 999999}}
    assert temperatures(cols) == {"Core 0": 52.0}


def test_no_sensor_tables_no_temperatures() -> None:
    assert temperatures({"sensor_type": {}, "lm_temp_value": {}}) == {}
