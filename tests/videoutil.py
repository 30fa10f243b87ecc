"""Reading back the videos the tests write."""


def mp4_info(path) -> tuple[int, tuple[int, int]]:
    """(decoded frame count, (width, height)) of a video, read with imageio-ffmpeg's own ffmpeg."""
    import gc
    import warnings

    import imageio_ffmpeg

    with warnings.catch_warnings():  # imageio-ffmpeg's reader leaves its pipes to the garbage collector.
        warnings.simplefilter("ignore", ResourceWarning)
        items = list(imageio_ffmpeg.read_frames(str(path)))
        gc.collect()
    return len(items) - 1, items[0]["size"]
