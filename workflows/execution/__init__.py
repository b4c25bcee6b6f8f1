"""Execution back ends: local runs, FireWorks, jobflow-remote on batch queues."""
