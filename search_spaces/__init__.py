"""Built-in search spaces; registered through entry points."""
