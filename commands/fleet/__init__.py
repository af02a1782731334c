"""Fleet comparison: how one host differs from the majority of its label group (siblings).

`compare.py` is a pure function over stored facts (the ProbeResult facts of each host's
run), so `triage HOST compare LABEL=VALUE` and the digest use the same judgement;
`outliers.py` holds one check per kind of difference; `words.py` says the values.
"""
