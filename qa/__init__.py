"""Retrieve passages, pick the sentences that answer a question, attach citations."""
