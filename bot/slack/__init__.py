"""The only Slack-aware code: the Bolt app, listeners, Block Kit, the poster."""
