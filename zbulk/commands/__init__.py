"""The command modules: parse arguments, call the core, hand results to the renderer."""
