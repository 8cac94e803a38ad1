"""The main window and the widgets it is built from."""
