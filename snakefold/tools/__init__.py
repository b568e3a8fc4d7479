"""One small wrapper per external search tool, all running through :func:`base.run_tool`."""
