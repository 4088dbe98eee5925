"""Notifications: what a step that concerns a party tells its users, in their portal inbox and
by e-mail through an outbox the server's worker sends over SMTP."""
