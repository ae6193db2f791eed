"""Tools around the codec: dataset downloads and layout, the architecture figure."""
