"""The device collector: reads OPC UA, Modbus and MQTT equipment and lands Parquet micro-batches.

`python -m nidc.collector <config.json>`; the landing contract is docs/decisions/0020.
"""
