"""Every word a user reads, in Indonesian: chat texts (chat/) and the laporan (laporan/).

A data package: it holds no code and ships in the wheel; code finds it with
``importlib.resources.files("templates")``.
"""
