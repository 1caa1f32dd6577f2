"""Ingest: Firefox "prio" pings and staged share files -> partitions of shares for both servers."""
