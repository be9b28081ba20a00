"""The HTTP edge: API models, background jobs, OpenAI-compatible shapes and the chat page's static files."""
