"""The Qt front end: windows, widgets, models and workers over the headless `monitor` core."""
