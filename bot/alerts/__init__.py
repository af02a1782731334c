"""Alerts in, triage out: Alertmanager and Grafana webhooks start the routine.

payload (parse and validate a webhook body) -> routing (labels -> host, routine, channel)
-> worker (one Slack thread per alert group, bounded triages, repeats and `resolved`), with
the notifications kept in the database (bot/store/alerts.py) so a restart loses none.
"""
