"""Fleet comparison: how one host differs from the majority of its label group (siblings).

`compare.py` is a pure function over stored facts (the ProbeResult facts of each host's
run), so `triage HOST compare LABEL=VALUE` and the digest use the same judgement. The
checks, one per kind of difference: `outliers.py` (ports, failed units, containers, kernel
and OS), `measures.py` (disk and inodes, connection states, load, I/O wait, steal),
`answers.py` (error groups in logs, DNS answers). `words.py` says hosts and values;
`codes.py` declares fleet.outlier and fleet.siblings.
"""
