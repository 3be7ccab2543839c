// Run reports: plots (SVG, PNG), the self-contained page of one run, and several runs side by side.
export { writeRunReport, PLOT_NAMES, type RunReportArgs, type RunReportFiles, type PlotInfo, type PlotName } from './run-report.js';
export { writeCompareReport, compareTable, COMPARED, type CompareTable, type CompareRow, type ComparedRun, type CompareFiles, type Delta } from './compare.js';
export { headlineOf, type Headline } from './headline.js';
export { rerunCommand } from './rerun.js';
export { renderReportHtml, type ReportPage, type HtmlPlot, type HtmlRank } from './html.js';
export { renderPage, type Card, type Figure } from './page.js';
export { scatterPlot, residualPlot, dzHistogramPlot, histogramPlot, timelinePlot, timelineSegments, rankThroughputPlot, costBreakdownPlot, linePlot, barPlot, renderSvg, svgToPng, DEFAULT_MAX_POINTS, type PlotSpec, type RankTimes, type SeriesPoint, type FigureKind } from './plots.js';
export { loadRun, loadRunDir, localRunFiles, storedRunFiles, rankTimes, type LoadedRun, type RunFiles } from './load-run.js';
export { handleReport } from './report-task.js';
