"""Test equipment on loopback: the brokers, databases and device simulators the tests start.

Each simulator is a real server speaking the real protocol (asyncua, pymodbus, MQTT through a
real mosquitto) and records what it emitted, so tests compare landed rows with ground truth.
"""
