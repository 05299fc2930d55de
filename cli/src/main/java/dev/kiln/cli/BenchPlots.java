package dev.kiln.cli;

import dev.kiln.cli.CommandLines.UsageException;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYItemRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.renderer.xy.XYStepRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.Arrays;
import java.util.List;

/** PNG charts of benchmark results ({@code kiln bench ... --plot DIR}), drawn with JFreeChart. */
final class BenchPlots {
    static {
        // Before any AWT class loads: a benchmark host has no display, and must not need one.
        System.setProperty("java.awt.headless", "true");
    }

    private static final int WIDTH = 900, HEIGHT = 560;
    /** A CDF of more samples than this is drawn through this many quantiles: the picture is the same. */
    private static final int MAX_CDF_POINTS = 2000;
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd)};

    private BenchPlots() {}

    /** Latency samples of one kind, in nanoseconds. */
    record Latencies(String label, long[] nanos) {}

    /** A distribution known only by its quantiles (the C floor prints no samples). */
    record Quantiles(String label, LatencySummary summary) {}

    record Point(double x, double y) {}

    /** One line of an x/y chart. */
    record Series(String label, List<Point> points) {}

    /** How an x/y chart joins its points. */
    enum Joint { STEPS, LINES_AND_POINTS }

    /**
     * The directory of {@code --plot}, created now so that a bad one is refused before a long run;
     * null without the option.
     */
    static Path directory(ParsedLine cl) throws UsageException {
        String v = cl.getOptionValue("plot");
        if (v == null) return null;
        Path dir = Path.of(v);
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new UsageException("--plot=" + v + ": not a directory");
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UsageException("--plot=" + v + ": cannot create the directory (" + e + ")");
        }
    }

    /**
     * Cumulative distributions of latencies on a log time axis (tails stay visible), with the
     * quantile-only distributions as points at min (0), median (0.5) and p99 (0.99).
     */
    static Path latencyCdf(Path dir, String file, String title, List<Latencies> samples, List<Quantiles> quantiles)
            throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Latencies l : samples) {
            long[] s = l.nanos().clone();
            Arrays.sort(s);
            XYSeries cdf = new XYSeries(l.label() + " (n=" + s.length + ")", false, true);
            int points = Math.min(s.length, MAX_CDF_POINTS);
            for (int k = 0; k < points; k++) {
                int i = points == s.length ? k : (int) ((long) k * (s.length - 1) / (points - 1));
                cdf.add(s[i] / 1e6, (i + 1) / (double) s.length);
            }
            data.addSeries(cdf);
        }
        for (Quantiles q : quantiles) {
            XYSeries marks = new XYSeries(q.label() + " (min, median, p99)", false, true);
            marks.add(q.summary().min() / 1e6, 0.0);
            marks.add(q.summary().median() / 1e6, 0.5);
            marks.add(q.summary().p99() / 1e6, 0.99);
            data.addSeries(marks);
        }
        LogAxis x = new LogAxis("latency (ms, log scale)");
        x.setBase(2); // ticks at powers of two: 0.5, 1, 2, 4 ms... read better than powers of ten's 1.259
        x.setTickUnit(new NumberTickUnit(1));
        x.setNumberFormatOverride(new DecimalFormat("0.###"));
        x.setSmallestValue(1e-3);
        NumberAxis y = new NumberAxis("fraction of runs at or below");
        y.setRange(0, 1.02);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        for (int i = samples.size(); i < samples.size() + quantiles.size(); i++) {
            renderer.setSeriesLinesVisible(i, false);
            renderer.setSeriesShapesVisible(i, true);
        }
        return save(dir, file, title, new XYPlot(data, x, y, renderer));
    }

    /** An x/y chart on linear axes. */
    static Path xy(Path dir, String file, String title, String xLabel, String yLabel, List<Series> series, Joint joint)
            throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Series s : series) {
            XYSeries line = new XYSeries(s.label(), false, true);
            for (Point p : s.points()) line.add(p.x(), p.y());
            data.addSeries(line);
        }
        NumberAxis x = new NumberAxis(xLabel);
        NumberAxis y = new NumberAxis(yLabel);
        x.setAutoRangeIncludesZero(true);
        y.setAutoRangeIncludesZero(true);
        XYItemRenderer renderer = joint == Joint.STEPS ? new XYStepRenderer() : new XYLineAndShapeRenderer(true, true);
        return save(dir, file, title, new XYPlot(data, x, y, renderer));
    }

    private static Path save(Path dir, String file, String title, XYPlot plot) throws IOException {
        Path png = dir.resolve(file);
        try {
            for (int i = 0; i < plot.getDataset().getSeriesCount(); i++) {
                plot.getRenderer().setSeriesPaint(i, COLORS[i % COLORS.length]);
                plot.getRenderer().setSeriesStroke(i, new BasicStroke(2f));
            }
            plot.setBackgroundPaint(Color.WHITE);
            plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
            plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
            JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
            chart.setBackgroundPaint(Color.WHITE);
            ChartUtils.saveChartAsPNG(png.toFile(), chart, WIDTH, HEIGHT);
        } catch (LinkageError | InternalError | RuntimeException e) {
            // Text needs fonts even headless: a bare host fails here with an AWT error, not an IOException.
            throw new IOException("cannot draw " + png + " (" + e + "); headless charts need fontconfig and a font,"
                    + " e.g. apt-get install fontconfig fonts-dejavu-core", e);
        }
        return png;
    }
}
