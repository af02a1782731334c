"""Past runs: diffs between runs, `compare`, and the `/history` text."""
