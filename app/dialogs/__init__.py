"""Modal dialogs: case list, settings, about, report options."""
