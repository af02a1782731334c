"""Slack: the Bolt app and its handlers, buttons, App Home, posting through the outbox."""
