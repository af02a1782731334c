"""The load, fault and hostile-input suite (issue 8): tests, not timings."""
