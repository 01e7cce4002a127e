"""The `link-assistant-router` command line: one module per subcommand group."""
