import numpy as np

from stylegan.plot import Series, line_chart, nice_ticks


def test_line_chart_draws_series_and_skips_gaps():
    xs = list(range(10))
    img = line_chart([Series("a", xs, [float(x) for x in xs]), Series("b", xs, [None] * 5 + [1.0] * 5)], "t",
                     hlines={"target": 0.6})
    assert img.shape == (360 + 2 * 14, 640, 3) and img.dtype == np.uint8  # Plot plus one legend row per series.
    blue = (img == np.array([31, 119, 180])).all(-1).sum()
    orange = (img == np.array([255, 127, 14])).all(-1).sum()
    assert blue > 100 and orange > 50  # Both series were drawn (plus legend swatches).
    legend = img[360 - 44 + 30:]  # Rows below the x-axis labels hold the legend, outside the plot area.
    assert (legend == np.array([31, 119, 180])).all(-1).any() and (legend == np.array([255, 127, 14])).all(-1).any()
    empty = line_chart([Series("a", [0, 1], [None, float("nan")])], "t")
    assert empty.shape == (360 + 14, 640, 3)


def test_nice_ticks():
    t = nice_ticks(0, 1)
    assert len(t) == 6 and t[0] == 0 and abs(t[-1] - 1) < 1e-9
    t = nice_ticks(3, 97)
    assert t[0] >= 3 and t[-1] <= 97 and 3 <= len(t) <= 7
