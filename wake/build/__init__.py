"""Building: the workspace, stage graph, keys, materializing and building images."""
