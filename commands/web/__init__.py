"""The `http` command's parts: request parsing, the bot's own fetch, curl on a host, verdicts."""
