"""The newsqa command line."""
