"""Keeping the tables fresh: the events sensor, the schedules and declarative automation.

Modules: routing (events -> stale partitions, pure), ranges and run_requests (partitions ->
runs), cursor, polling and retention (the sensor's state, reads and 30-day guard),
events_sensor, schedules, conditions.
"""
