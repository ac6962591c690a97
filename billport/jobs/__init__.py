"""Export jobs: leasing, heartbeats, workers."""
