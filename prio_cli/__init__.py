"""The `prio` command line: prio-processor's batch pipeline over NDJSON files, on libprio_ctypes."""
