"""See the package's ``api`` module: the one door into it."""
