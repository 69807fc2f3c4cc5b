"""Parameter sweeps and global sensitivity over scenarios (see model.sweep.runner)."""
