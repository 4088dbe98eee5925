"""Parties (companies that signed the code), their users, roles, tokens and agent appointments."""
