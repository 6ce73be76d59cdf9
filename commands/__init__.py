"""The `colorize` command line: the top of the project. Each command parses and checks its flags, then
calls the Beam stages (`pipeline`) or the models (`model`); nothing below imports from here."""
