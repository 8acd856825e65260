"""Built-in NAS methods (candidate generators); registered through entry points."""
