"""Read news articles in any supported format, clean them and split them into chunks."""
