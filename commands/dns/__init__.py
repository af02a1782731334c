"""The parts of `dig`: queries, the authoritative check, --trace, --from, provider ranges, rules."""
