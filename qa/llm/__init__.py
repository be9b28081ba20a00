"""Generative answers: a model writes from numbered passages (context), newsqa checks every sentence (verify)."""
